import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadAgentSdk } from '../../../src/agent/agent-sdk.loader';
import { ForkSessionStore } from '../../../src/sessions/fork-session-store';
import { TranscriptEntry } from '../../../src/sessions/transcript';

const PARENT = '11111111-2222-4333-8444-555555555555';
const fixture = readFileSync(join(__dirname, '..', '..', 'fixtures', 'transcript.jsonl'), 'utf8');
const parentEntries = fixture.split('\n').flatMap((line): TranscriptEntry[] => {
  try {
    return [JSON.parse(line) as TranscriptEntry];
  } catch {
    return [];
  }
});
const messages = parentEntries.filter((entry) => ['user', 'assistant'].includes(entry.type));

/** The SDK's forkSession over the store, and the transcript it leaves for the new session. */
async function fork(options: { upToMessageId?: string; title?: string } = {}) {
  const store = new ForkSessionStore(PARENT, parentEntries);
  const { forkSession } = await loadAgentSdk();
  const { sessionId } = await forkSession(PARENT, { ...options, sessionStore: store });
  const lines = store.transcriptOf(sessionId).toString('utf8').split('\n');
  expect(lines.pop()).toBe('');
  return { sessionId, entries: lines.map((line) => JSON.parse(line) as TranscriptEntry) };
}

describe("ForkSessionStore: the SDK's forkSession over a transcript read from the container", () => {
  it('copies the conversation into a new session: fresh ids, the parent chain kept', async () => {
    const { sessionId, entries } = await fork();
    expect(sessionId).not.toBe(PARENT);
    const copied = entries.filter((entry) => entry.forkedFrom !== undefined);
    expect(copied.map((entry) => entry.type)).toEqual([
      'user',
      'attachment',
      'assistant',
      'user',
      'assistant',
      'system',
    ]);
    expect(copied.every((entry) => entry.sessionId === sessionId)).toBe(true);
    const parentIds = new Set(parentEntries.map((entry) => entry.uuid));
    expect(copied.filter((entry) => parentIds.has(entry.uuid))).toEqual([]);
    // Each copy's parent is the copy of its original's parent.
    const copyOf = new Map(copied.map((entry) => [forkedFromId(entry), entry.uuid]));
    for (const entry of copied) {
      const original = parentEntries.find((candidate) => candidate.uuid === forkedFromId(entry));
      expect(entry.parentUuid).toBe(
        original?.parentUuid ? copyOf.get(original.parentUuid as string) : null,
      );
    }
    expect(messages.map((entry) => entry.message)).toEqual(
      copied
        .filter((entry) => ['user', 'assistant'].includes(entry.type))
        .map((entry) => entry.message),
    );
    expect(entries.at(-1)).toMatchObject({
      type: 'custom-title',
      customTitle: expect.stringMatching(/^Please run a tool.* \(fork\)$/),
    });
  });

  it('stops at the message given, and takes the title given', async () => {
    const { entries } = await fork({ upToMessageId: messages[1].uuid, title: 'Branch' });
    expect(entries.map((entry) => [entry.type, forkedFromId(entry)])).toEqual([
      ['user', messages[0].uuid],
      ['attachment', expect.any(String)],
      ['assistant', messages[1].uuid],
      ['custom-title', undefined],
    ]);
    expect(entries.at(-1)).toMatchObject({ customTitle: 'Branch' });
  });

  it('hands out only the parent, and takes writes for one new session only', async () => {
    const store = new ForkSessionStore(PARENT, parentEntries);
    const other = '99999999-2222-4333-8444-555555555555';
    expect(await store.load({ projectKey: '-workspace', sessionId: PARENT })).toEqual(
      parentEntries,
    );
    expect(await store.load({ projectKey: '-workspace', sessionId: other })).toBeNull();
    expect(
      await store.load({ projectKey: '-workspace', sessionId: PARENT, subpath: 'subagents/a' }),
    ).toBeNull();
    const entry = { type: 'user', uuid: 'u1' };
    await expect(
      store.append({ projectKey: '-workspace', sessionId: PARENT }, [entry]),
    ).rejects.toThrow(/one new session/);
    await store.append({ projectKey: '-workspace', sessionId: other }, [entry]);
    await store.append({ projectKey: '-workspace', sessionId: other }, [entry]);
    await expect(
      store.append({ projectKey: '-workspace', sessionId: 'a-third-one' }, [entry]),
    ).rejects.toThrow(/one new session/);
    await expect(
      store.append({ projectKey: '-workspace', sessionId: other, subpath: 'subagents/a' }, [entry]),
    ).rejects.toThrow(/one new session/);
    expect(store.transcriptOf(other).toString()).toBe(`${JSON.stringify(entry)}\n`.repeat(2));
    expect(() => store.transcriptOf(PARENT)).toThrow(/no session/);
  });
});

function forkedFromId(entry: TranscriptEntry): string | undefined {
  return (entry.forkedFrom as { messageUuid?: string } | undefined)?.messageUuid;
}
