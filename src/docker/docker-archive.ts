import { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { extract, Header } from 'tar-stream';
import { PathStat } from './docker.types';

/** The header the archive API answers HEAD and GET with: base64 JSON of the path's stat. */
export const PATH_STAT_HEADER = 'x-docker-container-path-stat';

/** Go's os.ModeDir. */
const GO_MODE_DIR = 2 ** 31;

/** The stat of an archive HEAD response; the (empty) body is drained. */
export function pathStatOf(response: unknown): PathStat {
  if (!(response instanceof IncomingMessage)) throw new Error('Docker answered without a response');
  response.resume();
  const header = response.headers[PATH_STAT_HEADER];
  if (typeof header !== 'string') throw new Error('Docker answered without a path stat');
  return parsePathStat(header);
}

/** Decodes the X-Docker-Container-Path-Stat header. */
export function parsePathStat(header: string): PathStat {
  const raw = JSON.parse(Buffer.from(header, 'base64').toString('utf8')) as {
    name?: unknown;
    size?: unknown;
    mode?: unknown;
    mtime?: unknown;
  };
  const mode = typeof raw.mode === 'number' ? raw.mode : 0;
  return {
    name: typeof raw.name === 'string' ? raw.name : '',
    size: typeof raw.size === 'number' ? raw.size : 0,
    mode: mode % 0o10000,
    mtime: new Date(typeof raw.mtime === 'string' ? raw.mtime : 0),
    isDirectory: Math.floor(mode / GO_MODE_DIR) % 2 === 1,
  };
}

/** A regular file met in a tar stream. */
export interface ArchiveFile {
  /** Its path in the archive (see `stripFirstComponent`). */
  name: string;
  size: number;
  mode: number;
  /** Whole seconds: tar keeps no more. */
  mtime: Date;
}

/** What a visitor answers: `stop` ends the walk (the rest of the archive is not read). */
export type VisitResult = void | 'stop';

/**
 * Calls `visit` with each regular file of a tar stream and its content, one at a time, holding
 * none of them: what the visitor does not read is skipped as it streams by. With
 * `stripFirstComponent`, names lose their first component, which is how Docker's archive of a
 * directory names its files (`dir/a.txt` → `a.txt`; the directory itself is left out).
 */
export async function visitArchiveFiles(
  archive: Readable,
  visit: (file: ArchiveFile, content: AsyncIterable<unknown>) => Promise<VisitResult> | VisitResult,
  options: { stripFirstComponent?: boolean } = {},
): Promise<void> {
  try {
    for await (const entry of tarEntries(archive)) {
      const { header } = entry;
      const name = options.stripFirstComponent ? header.name.replace(/^[^/]*\/?/, '') : header.name;
      if (!isRegularFile(header) || name === '') {
        entry.resume();
        continue;
      }
      const file: ArchiveFile = {
        name,
        size: header.size ?? 0,
        mode: header.mode ?? 0,
        mtime: header.mtime ?? new Date(0),
      };
      if ((await visit(file, entry)) === 'stop') return;
      entry.resume();
    }
  } finally {
    // Stops the transfer of whatever is left.
    archive.destroy();
  }
}

/** One file of a tar stream (a streamx stream): its header, then its bytes. */
interface TarEntry extends AsyncIterable<unknown> {
  header: Header;
  resume(): unknown;
}

function tarEntries(archive: Readable): AsyncIterable<TarEntry> {
  const extractor = extract();
  archive.on('error', (error) => extractor.destroy(error));
  archive.pipe(extractor);
  return extractor;
}

function isRegularFile(header: Header): boolean {
  return header.type === 'file' || header.type === 'contiguous-file';
}

/** dockerode types its streams loosely; they are Node Readables (HTTP responses). */
export function asReadable(stream: unknown): Readable {
  if (!(stream instanceof Readable)) throw new Error('Docker answered without a stream');
  return stream;
}
