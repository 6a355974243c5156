import { DockerOperationError } from '../../src/docker/docker.errors';
import { TranscriptsRepository } from '../../src/sessions/transcripts.repository';
import { Message, messageText } from '../support/fake-anthropic';
import { appWithFakeUpstreamSuite } from '../support/test-app';

/** Where the CLI keeps the transcripts of AGENT_WORKDIR=/workspace. */
const DIR = '/home/node/.claude/projects/-workspace';

describe('forking a session: the real CLI resumes the fork (real engine, fake upstream)', () => {
  const suite = appWithFakeUpstreamSuite({ THROTTLE_CLAUDE_LIMIT: '1000' });

  const container = () => `${suite.t.config.agent.containerPrefix}dev`;

  async function turn(prompt: string, sessionId?: string) {
    const res = await suite.t.client.POST('/api/execute', {
      body: { env: 'dev', prompt, sessionId },
    });
    expect(res.data).toMatchObject({ success: true, output: `echo: ${prompt}` });
    return res.data?.sessionId ?? '';
  }

  /** The text of the conversation the model was sent in its last main call. */
  function lastConversationSent(): string {
    const messages: Message[] = suite.fake.mainRequests.at(-1)?.body.messages ?? [];
    return messages.map(messageText).join('\n');
  }

  /** Runs a command in the agent container as the CLI's user and returns its output. */
  async function inContainer(...cmd: string[]): Promise<string> {
    const { t } = suite;
    const result = await t.docker.exec(container(), { cmd });
    expect(result.exitCode).toBe(0);
    return result.stdout;
  }

  function fork(id: string, body: { upToMessageId?: string; title?: string } = {}) {
    return suite.t.client.POST('/api/sessions/{env}/{id}/fork', {
      params: { path: { env: 'dev', id } },
      body,
    });
  }

  it('answers with the parent history (up to the message given), and leaves the parent as it was', async () => {
    const { t } = suite;
    const parent = await turn('Remember the word PARSNIP');
    await turn('Remember the word TURNIP as well', parent);
    const parentFile = `${DIR}/${parent}.jsonl`;
    const parentBytes = await inContainer('cat', parentFile);
    const detail = await t.client.GET('/api/sessions/{env}/{id}', {
      params: { path: { env: 'dev', id: parent } },
    });
    const firstAnswer = detail.data?.messages.find((message) => message.type === 'assistant');
    expect(firstAnswer).toMatchObject({ text: 'echo: Remember the word PARSNIP' });

    const whole = await fork(parent);
    expect(whole.response.status).toBe(201);
    expect(whole.data).toMatchObject({
      title: 'Remember the word PARSNIP (fork)',
      messageCount: detail.data?.messageCount,
      status: 'idle',
      forkedFrom: { sessionId: parent, upToMessageId: null },
    });
    const early = await fork(parent, {
      upToMessageId: firstAnswer?.uuid ?? '',
      title: 'Before the turnip',
    });
    expect(early.data).toMatchObject({ title: 'Before the turnip', messageCount: 2 });
    const wholeId = whole.data?.id ?? '';
    const earlyId = early.data?.id ?? '';
    // Written as the CLI's user, readable by it alone, like the CLI's own transcripts.
    expect(await inContainer('stat', '-c', '%U %a', `${DIR}/${wholeId}.jsonl`)).toBe('node 600\n');

    await turn('Which words do you remember?', wholeId);
    expect(lastConversationSent()).toMatch(/PARSNIP[\s\S]*TURNIP[\s\S]*Which words/);
    await turn('And now?', earlyId);
    expect(lastConversationSent()).toMatch(/PARSNIP[\s\S]*And now\?/);
    expect(lastConversationSent()).not.toContain('TURNIP');

    // Writing a transcript never replaces one, and leaves no temporary file behind.
    const transcripts = t.app.get(TranscriptsRepository);
    await expect(
      transcripts.create(container(), parent, Buffer.from('{"type":"user"}\n')),
    ).rejects.toThrow(DockerOperationError);
    expect(await inContainer('cat', parentFile)).toBe(parentBytes);
    expect(await inContainer('ls', '-A', DIR)).not.toMatch(/^\./m);
    const listed = await t.client.GET('/api/sessions/{env}', { params: { path: { env: 'dev' } } });
    expect(
      listed.data?.items.map((item) => [item.id, item.title, item.messageCount]).sort(),
    ).toEqual(
      [
        [parent, 'Remember the word PARSNIP', 4],
        [wholeId, 'Remember the word PARSNIP (fork)', 6],
        [earlyId, 'Before the turnip', 4],
      ].sort(),
    );
  });
});
