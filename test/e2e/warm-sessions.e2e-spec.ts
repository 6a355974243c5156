import type { components } from '../../client/src';
import { PooledRunExecutor, WarmStats } from '../../src/agent/pooled-run-executor';
import { RunExecutor } from '../../src/agent/run-executor';
import { claudeProcessesOf, dockerCli, removeDockerObjects } from '../support/docker-cli';
import { RecordedRequest } from '../support/fake-anthropic';
import {
  appWithFakeUpstreamSuite,
  startAppWithFakeUpstream,
  startTestApp,
  TestApp,
} from '../support/test-app';
import { waitUntil } from '../support/wait';

type ExecuteRequest = components['schemas']['ExecuteRequestDto'];

/** A small /tmp, so a turn can fill it; the memory stays at its default, which keeps CLIs warm. */
const SETTINGS = { THROTTLE_CLAUDE_LIMIT: '1000', AGENT_LIMITS: 'tmp=32m' };

/**
 * Warm sessions and spares with the real CLI in the real container: a session's next turn goes
 * to the CLI its last turn left running, a new session's first turn to a spare, and losing the
 * warm CLI (killed, the container restarted, the API restarted) costs only the warmth: the next
 * turn resumes the transcript and sees the earlier turns. Warmth is told by the pool's counters,
 * never by timing.
 */
describe('warm sessions and spares (real engine, real CLI)', () => {
  const suite = appWithFakeUpstreamSuite(SETTINGS);
  const container = () => `${suite.t.config.agent.containerPrefix}dev`;
  const runner = (t: TestApp) => t.app.get<RunExecutor, PooledRunExecutor>(RunExecutor);
  const stats = (t: TestApp = suite.t): WarmStats => ({ ...runner(t).stats });

  const execute = async (body: Omit<ExecuteRequest, 'env'>, t: TestApp = suite.t) =>
    (await t.client.POST('/api/execute', { body: { env: 'dev', ...body } })).data;

  /** A reserved session, so its first turn starts a CLI of its own rather than take a spare. */
  const newSession = async (t: TestApp = suite.t): Promise<string> => {
    const created = await t.client.POST('/api/sessions', { body: { env: 'dev' } });
    if (!created.data) throw new Error('no session');
    return created.data.sessionId;
  };

  /** The model's last request saw `text` in the conversation it was sent. */
  const lastRequestSaw = (text: string): boolean => {
    const last: RecordedRequest | undefined = suite.fake.mainRequests.at(-1);
    return JSON.stringify(last?.body.messages ?? []).includes(text);
  };

  /** The spare started with the container is ready, so no start happens behind a test's back. */
  beforeEach(() =>
    waitUntil(() => Promise.resolve(runner(suite.t).readySpares(container()) >= 1), 'a spare'),
  );

  it("serves a session's second turn on the CLI its first turn left running, with its context", async () => {
    const sessionId = await newSession();
    const first = await execute({ sessionId, prompt: 'remember the word aubergine' });
    expect(first).toMatchObject({ success: true, output: 'echo: remember the word aubergine' });
    const afterFirst = stats();

    const second = await execute({ sessionId, prompt: 'which word?' });
    expect(second).toMatchObject({ success: true, output: 'echo: which word?', exitCode: 0 });
    expect(lastRequestSaw('remember the word aubergine')).toBe(true);
    expect(stats()).toEqual({
      ...afterFirst,
      warmTurns: afterFirst.warmTurns + 1,
    });
  });

  it("gives a new session's first turn a spare, and starts another spare", async () => {
    const before = stats();
    const res = await execute({ prompt: 'a new session' });
    expect(res).toMatchObject({ success: true, output: 'echo: a new session' });
    expect(stats()).toMatchObject({
      sparesTaken: before.sparesTaken + 1,
      warmTurns: before.warmTurns + 1,
    });
    // The spare's session is the run's: a follow-up on it is warm and sees the first turn.
    const followUp = await execute({ sessionId: res?.sessionId, prompt: 'and then?' });
    expect(followUp).toMatchObject({ success: true, output: 'echo: and then?' });
    expect(lastRequestSaw('a new session')).toBe(true);
    expect(stats().warmTurns).toBe(before.warmTurns + 2);
    await waitUntil(
      () => Promise.resolve(runner(suite.t).readySpares(container()) >= 1),
      'a spare',
    );
    expect(stats().processesStarted).toBe(before.processesStarted + 1);
  });

  it("closes a deleted session's warm CLI at once, rather than when it is recycled", async () => {
    const sessionId = await newSession();
    await execute({ sessionId, prompt: 'a turn to delete' });
    expect(claudeProcessesOf(container(), sessionId)).not.toEqual([]);
    const deleted = await suite.t.client.DELETE('/api/sessions/{env}/{id}', {
      params: { path: { env: 'dev', id: sessionId } },
    });
    expect(deleted.response.status).toBe(204);
    await waitUntil(
      () => Promise.resolve(claudeProcessesOf(container(), sessionId).length === 0),
      "the deleted session's CLI gone",
    );
  });

  it('resumes the transcript on a new CLI when the warm one was killed between turns', async () => {
    const sessionId = await newSession();
    await execute({ sessionId, prompt: 'remember the word quince' });
    const afterFirst = stats();
    // As the agent user, the way anything in the container could end it.
    dockerCli('exec', '-u', 'node', container(), 'pkill', '-KILL', '-f', sessionId);

    const second = await execute({ sessionId, prompt: 'which fruit?' });
    expect(second).toMatchObject({ success: true, output: 'echo: which fruit?' });
    expect(lastRequestSaw('remember the word quince')).toBe(true);
    expect(stats()).toMatchObject({
      processesStarted: afterFirst.processesStarted + 1,
      warmTurns: afterFirst.warmTurns,
    });
  });

  it("tells a warm turn that filled /tmp TMP_FULL; the restarted container's next turn resumes", async () => {
    const sessionId = await newSession();
    const bash = { sessionId, allowedTools: ['Bash'] };
    await execute({ ...bash, prompt: 'remember the word medlar' });
    const afterFirst = stats();
    suite.fake.replyBashTool('head -c 64m /dev/zero > /tmp/fill; ls -l /tmp/fill');
    const filled = await execute({ ...bash, prompt: 'fill it' });
    expect(filled).toMatchObject({ success: false, code: 'TMP_FULL' });
    expect(stats().warmTurns).toBe(afterFirst.warmTurns + 1);

    const third = await execute({ ...bash, prompt: 'which one?' });
    expect(third).toMatchObject({ success: true, output: 'echo: which one?' });
    expect(lastRequestSaw('remember the word medlar')).toBe(true);
    expect(dockerCli('exec', container(), 'ls', '/tmp')).not.toContain('fill');
    // The restart ended the warm CLI: the third turn had a new one.
    expect(stats().warmTurns).toBe(afterFirst.warmTurns + 1);
  });

  it('resumes the transcript after an API restart between turns, and closes warm CLIs on shutdown', async () => {
    const prefixes: string[] = [];
    const first = await startAppWithFakeUpstream(suite.fake.url, prefixes, SETTINGS);
    let firstOpen = true;
    try {
      const sessionId = await newSession(first);
      await execute({ sessionId, prompt: 'remember the word loquat' }, first);
      const name = `${first.config.agent.containerPrefix}dev`;
      expect(claudeProcessesOf(name, sessionId)).not.toEqual([]);
      await first.close();
      firstOpen = false;
      expect(claudeProcessesOf(name, sessionId)).toEqual([]);

      const second = await startTestApp({
        ENVIRONMENTS: 'dev,staging',
        AGENT_ENV_ANTHROPIC_BASE_URL: suite.fake.url,
        AGENT_ENV_ANTHROPIC_API_KEY: 'sk-ant-dummy-key',
        CONTAINER_PREFIX: first.config.agent.containerPrefix,
        VOLUME_PREFIX: first.config.agent.volumePrefix,
        DATA_DIR: first.config.dataDir,
        ...SETTINGS,
      });
      try {
        const res = await execute({ sessionId, prompt: 'which word, after the restart?' }, second);
        expect(res).toMatchObject({
          success: true,
          output: 'echo: which word, after the restart?',
        });
        expect(lastRequestSaw('remember the word loquat')).toBe(true);
      } finally {
        await second.close();
      }
    } finally {
      if (firstOpen) await first.close();
      for (const prefix of prefixes) removeDockerObjects(prefix);
    }
  });
});
