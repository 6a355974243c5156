import { PooledRunExecutor } from '../../src/agent/pooled-run-executor';
import { RunExecutor } from '../../src/agent/run-executor';
import { lastToolResults } from '../support/fake-anthropic';
import { appWithFakeUpstreamSuite, uniqueSuffix, workspaceFile } from '../support/test-app';
import { waitUntil } from '../support/wait';

describe("permission modes: the operator's per-environment default, and what a client may name (real engine, real CLI)", () => {
  // dev runs as the desktop runs every prompt; a client may not ask for that anywhere.
  const suite = appWithFakeUpstreamSuite({
    THROTTLE_CLAUDE_LIMIT: '1000',
    PERMISSION_MODE_DEV: 'bypassPermissions',
  });

  const execute = (body: {
    env: string;
    prompt: string;
    permissionMode?: 'default' | 'bypassPermissions' | 'auto';
  }) => suite.t.client.POST('/api/execute', { body });

  const toolResultSeen = () =>
    lastToolResults(suite.fake.mainRequests.at(-1)?.body ?? ({ messages: [] } as never))[0];

  it('runs a tool unasked in an environment whose default is bypassPermissions, on a spare started in that mode', async () => {
    const runner = suite.t.app.get<RunExecutor, PooledRunExecutor>(RunExecutor);
    const container = `${suite.t.config.agent.containerPrefix}dev`;
    await waitUntil(() => Promise.resolve(runner.readySpares(container) >= 1), 'a spare');
    const taken = runner.stats.sparesTaken;
    const file = workspaceFile(suite.t, 'dev', `bypassed-${uniqueSuffix()}`);
    suite.fake.replyBashTool(`touch ${file.name}`);
    const { data } = await execute({ env: 'dev', prompt: 'make the file' });
    expect(data).toMatchObject({ success: true });
    expect(runner.stats.sparesTaken).toBe(taken + 1);
    expect(file.exists()).toBe(true);
    expect(toolResultSeen()?.is_error).not.toBe(true);
  });

  it('a run there that names default mode gets the tool refused: nobody can be asked', async () => {
    const file = workspaceFile(suite.t, 'dev', `refused-${uniqueSuffix()}`);
    suite.fake.replyBashTool(`touch ${file.name}`);
    const { data } = await execute({
      env: 'dev',
      prompt: 'make the file',
      permissionMode: 'default',
    });
    expect(data).toMatchObject({ success: true });
    expect(file.exists()).toBe(false);
    expect(toolResultSeen()).toMatchObject({ is_error: true });
  });

  it('refuses a client that names bypassPermissions in another environment, or auto anywhere, before anything runs', async () => {
    for (const body of [
      { env: 'staging', prompt: 'x', permissionMode: 'bypassPermissions' as const },
      { env: 'dev', prompt: 'x', permissionMode: 'auto' as const },
    ]) {
      const { error, response } = await execute(body);
      expect(response.status).toBe(403);
      expect(error).toMatchObject({ code: 'PERMISSION_MODE_NOT_ALLOWED' });
    }
    expect(suite.fake.mainRequests).toHaveLength(0);
  });
});
