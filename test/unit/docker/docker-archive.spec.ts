import { Readable } from 'node:stream';
import { pack } from 'tar-stream';
import { ArchiveFile, parsePathStat, visitArchiveFiles } from '../../../src/docker/docker-archive';

const mtime = new Date('2026-11-27T01:14:58Z');

/** A tar stream shaped like Docker's answer for GET /containers/x/archive?path=<dir>. */
function archive(entries: { name: string; content?: string; type?: 'directory' }[]): Readable {
  const tar = pack();
  for (const entry of entries) {
    if (entry.type === 'directory') tar.entry({ name: entry.name, type: 'directory', mtime });
    else tar.entry({ name: entry.name, mtime, mode: 0o600 }, entry.content ?? '');
  }
  tar.finalize();
  return Readable.from(tar as AsyncIterable<Buffer>);
}

describe('Docker archive reading', () => {
  async function text(content: AsyncIterable<unknown>): Promise<string> {
    let read = '';
    for await (const chunk of content) read += String(chunk);
    return read;
  }

  it('visits the regular files below a directory, named relative to it, one at a time', async () => {
    const visited: Array<ArchiveFile & { text?: string }> = [];
    await visitArchiveFiles(
      archive([
        { name: '-workspace/', type: 'directory' },
        { name: '-workspace/a.jsonl', content: 'aaa' },
        { name: '-workspace/b/', type: 'directory' },
        { name: '-workspace/b/sub.jsonl', content: 'sub' },
        { name: '-workspace/big.jsonl', content: 'x'.repeat(100) },
      ]),
      async (file, content) => {
        // What a visitor does not read is skipped as it streams by.
        visited.push(file.name === 'b/sub.jsonl' ? file : { ...file, text: await text(content) });
      },
      { stripFirstComponent: true },
    );
    expect(visited).toEqual([
      { name: 'a.jsonl', size: 3, mode: 0o600, mtime, text: 'aaa' },
      { name: 'b/sub.jsonl', size: 3, mode: 0o600, mtime },
      { name: 'big.jsonl', size: 100, mode: 0o600, mtime, text: 'x'.repeat(100) },
    ]);
  });

  it('ends the walk when a visitor says stop, and destroys the stream', async () => {
    const stream = archive([
      { name: 'a.jsonl', content: 'a' },
      { name: 'b.jsonl', content: 'b' },
    ]);
    const names: string[] = [];
    await visitArchiveFiles(stream, (file) => {
      names.push(file.name);
      return 'stop';
    });
    expect(names).toEqual(['a.jsonl']);
    expect(stream.destroyed).toBe(true);
  });

  it("decodes Docker's path stat header", () => {
    const header = (stat: object): string => Buffer.from(JSON.stringify(stat)).toString('base64');
    expect(
      parsePathStat(
        header({ name: 'a.jsonl', size: 3, mode: 420, mtime: '2026-11-27T01:15:59.938751369Z' }),
      ),
    ).toEqual({
      name: 'a.jsonl',
      size: 3,
      mode: 0o644,
      mtime: new Date('2026-11-27T01:15:59.938Z'),
      isDirectory: false,
    });
    const dir = parsePathStat(header({ name: 'x', size: 4096, mode: 2 ** 31 + 0o755, mtime: '' }));
    expect(dir).toMatchObject({ isDirectory: true, mode: 0o755 });
  });
});
