import { Readable } from 'node:stream';
import { pack } from 'tar-stream';
import {
  parsePathStat,
  readDirectoryEntries,
  readSingleFile,
} from '../../../src/docker/docker-archive';

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
  it('lists the regular files below a directory, relative to it, with content only when asked', async () => {
    const asked: string[] = [];
    const entries = await readDirectoryEntries(
      archive([
        { name: '-workspace/', type: 'directory' },
        { name: '-workspace/a.jsonl', content: 'aaa' },
        { name: '-workspace/b/', type: 'directory' },
        { name: '-workspace/b/sub.jsonl', content: 'sub' },
        { name: '-workspace/big.jsonl', content: 'x'.repeat(100) },
      ]),
      {
        maxContentBytes: 10,
        wantContent: (entry) => {
          asked.push(entry.name);
          return entry.name !== 'b/sub.jsonl';
        },
      },
    );
    expect(entries).toEqual([
      { name: 'a.jsonl', size: 3, mode: 0o600, mtime, content: Buffer.from('aaa') },
      { name: 'b/sub.jsonl', size: 3, mode: 0o600, mtime },
      { name: 'big.jsonl', size: 100, mode: 0o600, mtime },
    ]);
    // Files over the bound are not even offered.
    expect(asked).toEqual(['a.jsonl', 'b/sub.jsonl']);
  });

  it('reads a single file, cut at maxBytes', async () => {
    expect(await readSingleFile(archive([{ name: 'a.jsonl', content: 'hello' }]), 100)).toEqual({
      size: 5,
      mtime,
      content: Buffer.from('hello'),
      truncated: false,
    });
    const cut = await readSingleFile(
      archive([{ name: 'a.jsonl', content: 'x'.repeat(200000) }]),
      10,
    );
    expect(cut).toMatchObject({ size: 200000, truncated: true });
    expect(cut?.content.toString()).toBe('x'.repeat(10));
    expect(await readSingleFile(archive([{ name: 'dir/', type: 'directory' }]), 10)).toBeNull();
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
