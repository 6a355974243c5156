import { readBatches } from '../../../src/sessions/transcripts.repository';

const MB = 1024 * 1024;

describe('readBatches: the transcripts one tar exec reads', () => {
  const file = (id: string, size: number, readBytes?: number) => ({
    id,
    size,
    from: readBytes === undefined ? null : { bytes: readBytes, summary: summaryStub },
  });
  const summaryStub = { messageCount: 0, skippedLines: 0, title: null, firstTimestamp: null };

  it('keeps each exec to about 64 MB of bytes still to read', () => {
    const batches = [
      ...readBatches([
        file('a', 40 * MB),
        file('b', 40 * MB),
        file('c', 10 * MB),
        file('d', 90 * MB),
      ]),
    ];
    expect(batches.map((batch) => batch.map((f) => f.id))).toEqual([['a'], ['b', 'c'], ['d']]);
  });

  it('counts only what a grown transcript has added', () => {
    const batches = [...readBatches([file('a', 60 * MB, 50 * MB), file('b', 60 * MB, 50 * MB)])];
    expect(batches).toHaveLength(1);
  });

  it('keeps each exec to 500 names', () => {
    const files = Array.from({ length: 1001 }, (_, index) => file(String(index), 10));
    expect([...readBatches(files)].map((batch) => batch.length)).toEqual([500, 500, 1]);
  });
});
