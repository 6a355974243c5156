import { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { extract, Header } from 'tar-stream';
import { ArchiveEntry, FileContent, PathStat, ReadDirectoryOptions } from './docker.types';

/** The header the archive API answers HEAD and GET with: base64 JSON of the path's stat. */
export const PATH_STAT_HEADER = 'x-docker-container-path-stat';

export const DEFAULT_MAX_CONTENT_BYTES = 16 * 1024 * 1024;

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

/**
 * The regular files of a directory's tar archive, as Docker sends it: every name starts with the
 * directory's own base name, which is cut off. Content is read only for the files `wantContent`
 * picks that fit `maxContentBytes`; everything else is skipped as it streams by.
 */
export async function readDirectoryEntries(
  archive: Readable,
  options: ReadDirectoryOptions,
): Promise<ArchiveEntry[]> {
  const maxContentBytes = options.maxContentBytes ?? DEFAULT_MAX_CONTENT_BYTES;
  const entries: ArchiveEntry[] = [];
  try {
    for await (const file of tarEntries(archive)) {
      const { header } = file;
      const name = header.name.replace(/^[^/]*\/?/, '');
      if (!isRegularFile(header) || name === '') {
        file.resume();
        continue;
      }
      const entry: ArchiveEntry = {
        name,
        size: header.size ?? 0,
        mode: header.mode ?? 0,
        mtime: header.mtime ?? new Date(0),
      };
      if (entry.size <= maxContentBytes && options.wantContent?.(entry)) {
        entry.content = (await readAtMost(file, maxContentBytes)).content;
      } else {
        file.resume();
      }
      entries.push(entry);
    }
  } finally {
    archive.destroy();
  }
  return entries;
}

/** The first regular file of an archive (a single file's archive has only it), cut at `maxBytes`. */
export async function readSingleFile(
  archive: Readable,
  maxBytes: number,
): Promise<FileContent | null> {
  try {
    for await (const file of tarEntries(archive)) {
      if (!isRegularFile(file.header)) return null;
      const { content, truncated } = await readAtMost(file, maxBytes);
      return {
        size: file.header.size ?? content.length,
        mtime: file.header.mtime ?? new Date(0),
        content,
        truncated,
      };
    }
    return null;
  } finally {
    // Stop the transfer of whatever is left (the rest of a cut file).
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

async function readAtMost(
  stream: AsyncIterable<unknown>,
  maxBytes: number,
): Promise<{ content: Buffer; truncated: boolean }> {
  const chunks: Buffer[] = [];
  let length = 0;
  let truncated = false;
  for await (const chunk of stream) {
    if (!Buffer.isBuffer(chunk)) throw new Error('The archive yielded something other than bytes');
    const room = maxBytes - length;
    if (chunk.length > room) {
      truncated = true;
      if (room > 0) chunks.push(chunk.subarray(0, room));
      length = maxBytes;
      break;
    }
    chunks.push(chunk);
    length += chunk.length;
  }
  return { content: Buffer.concat(chunks, length), truncated };
}

/** dockerode types its streams loosely; they are Node Readables (HTTP responses). */
export function asReadable(stream: unknown): Readable {
  if (!(stream instanceof Readable)) throw new Error('Docker answered without a stream');
  return stream;
}
