import type { components } from '../../client/src';
import { dockerCli, inspectJson } from '../support/docker-cli';
import { appWithFakeUpstreamSuite, envParams } from '../support/test-app';

type ExecuteResponse = components['schemas']['ExecuteResponseDto'];

/** Small enough to hit in a second, and gentle on a shared 2-core machine. */
const LIMITS = 'memory=512m,cpus=0.5,pids=128,nofile=1024,tmp=32m';

/**
 * A run that hits one of its container's limits (real engine, real CLI, the fake upstream
 * scripting a Bash tool call): it fails with a clear code, another environment's run started
 * meanwhile succeeds, and the environment's next run succeeds.
 */
describe('limits of the agent containers (real engine)', () => {
  const suite = appWithFakeUpstreamSuite({ AGENT_LIMITS: LIMITS, THROTTLE_CLAUDE_LIMIT: '1000' }, [
    'dev',
    'staging',
  ]);

  const execute = async (env: string, prompt: string): Promise<ExecuteResponse | undefined> =>
    (
      await suite.t.client.POST('/api/execute', {
        body: { env, prompt, allowedTools: ['Bash'], timeoutMs: 120_000 },
      })
    ).data;

  const startedAt = async (env: string) =>
    (await suite.t.client.GET('/api/containers/{env}', envParams(env))).data?.startedAt;

  /**
   * Runs `command` through the Bash tool in dev; once dev's CLI has asked for the tool, a plain
   * staging run starts beside it. Returns dev's answer after checking staging's.
   */
  async function hitInDev(command: string): Promise<ExecuteResponse | undefined> {
    const calls = suite.fake.mainRequests.length;
    // The tool call, then the default reply (the tool's output) for whoever asks next.
    suite.fake.enqueue(
      { kind: 'tool_use', name: 'Bash', input: { command, timeout: 20_000, description: 'x' } },
      { kind: 'text' },
    );
    const devRun = execute('dev', 'push the limit');
    await suite.fake.waitForMainRequests(calls + 1, 60_000);
    const staging = await execute('staging', 'meanwhile in staging');
    expect(staging).toMatchObject({ success: true, output: 'echo: meanwhile in staging' });
    return devRun;
  }

  async function expectDevWorks(): Promise<void> {
    suite.fake.replyBashTool('echo fine > /tmp/after && cat /tmp/after');
    expect(await execute('dev', 'and now?')).toMatchObject({
      success: true,
      output: 'tool_result: fine',
    });
  }

  it('contains a fork bomb with the pids limit: PIDS_LIMIT, then the restarted container works', async () => {
    const before = await startedAt('dev');
    const res = await hitInDev('bomb() { bomb | bomb & }; bomb; sleep 5');
    expect(res).toMatchObject({ success: false, code: 'PIDS_LIMIT' });
    expect(res?.error).toMatch(/pids limit/);
    // The bomb's processes went with the restart.
    expect(await startedAt('dev')).not.toBe(before);
    expect(
      dockerCli('exec', `${suite.t.config.agent.containerPrefix}dev`, 'ps', '-e').split('\n')
        .length,
    ).toBeLessThan(20);
    await expectDevWorks();
  });

  it('OOM-kills a memory hog: MEMORY_LIMIT, and the container carries on without a restart', async () => {
    const before = await startedAt('dev');
    // `tail -n 1` keeps the whole newline-free gigabyte in memory.
    const res = await hitInDev('head -c 1000m /dev/zero | tail -n 1 | wc -c');
    expect(res).toMatchObject({ success: false, code: 'MEMORY_LIMIT' });
    expect(await startedAt('dev')).toBe(before);
    const { State } = inspectJson<{ State: { Running: boolean } }>(
      `${suite.t.config.agent.containerPrefix}dev`,
    );
    expect(State.Running).toBe(true);
    await expectDevWorks();
  });

  it('fails a run that fills /tmp with TMP_FULL, and empties /tmp for the next one', async () => {
    const res = await hitInDev('head -c 64m /dev/zero > /tmp/fill; ls -l /tmp/fill');
    expect(res).toMatchObject({ success: false, code: 'TMP_FULL' });
    expect(res?.error).toMatch(/tmp/);
    await expectDevWorks();
    const container = `${suite.t.config.agent.containerPrefix}dev`;
    expect(dockerCli('exec', container, 'ls', '/tmp')).not.toContain('fill');
  });
});
