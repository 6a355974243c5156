import * as claudecode from '../../examples/lifeos/claudecode';
import { desktopAppInvoke, installTauriGlobal } from '../support/desktop-app-stub';
import { removeDockerObjects } from '../support/docker-cli';
import { FakeAnthropic, startFakeAnthropic } from '../support/fake-anthropic';
import { specCheckedFetch } from '../support/spec-checked-client';
import { startAppWithFakeUpstream, TestApp } from '../support/test-app';

/** Everything one pass over the adapter's functions returned. */
interface AdapterPass {
  statusAfterStart: claudecode.ContainerStatus;
  sessionId: string;
  textResult: claudecode.ClaudeCodeResult;
  jsonResult: claudecode.ClaudeCodeResult;
  streamResult: claudecode.ClaudeCodeResult;
  streamedTypes: string[];
  thread: claudecode.ConversationThread | undefined;
  listedAfterDelete: string[];
  statusAfterStop: claudecode.ContainerStatus;
}

/** The same calls LifeOS makes, in whichever mode the adapter finds itself. */
async function useAdapter(env: string): Promise<AdapterPass> {
  await claudecode.startContainer(env);
  const statusAfterStart = await claudecode.getContainerStatus(env);
  const sessionId = await claudecode.createSession(env);
  const textResult = await claudecode.executePrompt(env, 'first words', { sessionId });
  const jsonResult = await claudecode.executePrompt(env, 'as json', {
    sessionId,
    jsonOutput: true,
  });
  const streamedTypes: string[] = [];
  const streamResult = await claudecode.streamExecution(
    env,
    'stream it',
    (message) => streamedTypes.push(message.type),
    { sessionId, jsonOutput: true },
  );
  const thread = (await claudecode.listSessions(env)).find((item) => item.id === sessionId);
  await claudecode.deleteSession(env, sessionId);
  const listedAfterDelete = (await claudecode.listSessions(env)).map((item) => item.id);
  await claudecode.stopContainer(env);
  const statusAfterStop = await claudecode.getContainerStatus(env);
  return {
    statusAfterStart,
    sessionId,
    textResult,
    jsonResult,
    streamResult,
    streamedTypes,
    thread,
    listedAfterDelete,
    statusAfterStop,
  };
}

/** A value's shape: its keys and the types of their values, recursively. */
function shapeOf(value: unknown): unknown {
  if (Array.isArray(value)) return value.length === 0 ? [] : [shapeOf(value[0])];
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((key) => [key, shapeOf((value as Record<string, unknown>)[key])]),
    );
  }
  return value === null ? 'null' : typeof value;
}

function expectPassToWork(pass: AdapterPass, containerName: string): void {
  expect(pass.statusAfterStart).toEqual({ name: containerName, exists: true, running: true });
  expect(pass.sessionId).toMatch(/^[0-9a-f-]{36}$/);
  expect(pass.textResult).toEqual({ success: true, output: 'echo: first words' });
  expect(pass.jsonResult).toMatchObject({ success: true, output: 'echo: as json' });
  expect(JSON.parse(pass.jsonResult.json_output!)).toMatchObject({
    type: 'result',
    session_id: pass.sessionId,
    result: 'echo: as json',
  });
  expect(pass.streamResult).toMatchObject({ success: true, output: 'echo: stream it' });
  expect(pass.streamedTypes).toContain('result');
  expect(pass.thread).toMatchObject({ id: pass.sessionId, environment: 'dev' });
  expect(new Date(pass.thread!.updated_at).toISOString()).toBe(pass.thread!.updated_at);
  expect(pass.listedAfterDelete).not.toContain(pass.sessionId);
  expect(pass.statusAfterStop).toEqual({ name: containerName, exists: true, running: false });
}

describe('the LifeOS adapter (examples/lifeos/claudecode.ts)', () => {
  let fake: FakeAnthropic;
  let t: TestApp;
  const prefixes: string[] = [];

  beforeAll(async () => {
    fake = await startFakeAnthropic();
    t = await startAppWithFakeUpstream(fake.url, prefixes);
    // Every call the adapter makes is checked against openapi.json on the way back.
    claudecode.configureClaudeCode({ baseUrl: t.baseUrl, token: t.token, fetch: specCheckedFetch });
  });
  afterAll(async () => {
    await t.close();
    await fake.close();
    prefixes.forEach(removeDockerObjects);
  });

  it('on the web, drives the real service and reports its errors as ClaudeCodeError', async () => {
    const containerName = `${t.config.agent.containerPrefix}dev`;
    expect(await claudecode.getContainerStatus('dev')).toEqual({
      name: containerName,
      exists: false,
      running: false,
    });
    const web = await useAdapter('dev');
    expectPassToWork(web, containerName);
    // The web streams the run as it goes: more than the final result.
    expect(web.streamedTypes).toEqual(expect.arrayContaining(['system', 'assistant', 'result']));

    await expect(claudecode.getContainerStatus('nowhere')).rejects.toMatchObject({
      name: 'ClaudeCodeError',
      code: 'ENV_NOT_FOUND',
      status: 404,
    });
  });

  it('on the web, cancels a streamed prompt when its signal aborts', async () => {
    await claudecode.startContainer('staging');
    fake.replySlow('too late', { delayMs: 60_000 });
    const aborter = new AbortController();
    const streamedTypes: string[] = [];
    const result = await claudecode.streamExecution(
      'staging',
      'take your time',
      (message) => {
        streamedTypes.push(message.type);
        // The CLI's init message: the run has started.
        if (message.type === 'system') aborter.abort();
      },
      { signal: aborter.signal },
    );
    expect(streamedTypes[0]).toBe('system');
    expect(result).toEqual({ success: false, error: expect.stringMatching(/cancel/i) });
    fake.clear();
  });

  it('in the desktop app, calls its Tauri commands and returns the same shapes as the web', async () => {
    const containerName = `${t.config.agent.containerPrefix}dev`;
    // The web pass first: it also creates the container the desktop expects to exist.
    const web = await useAdapter('dev');
    const invoke = jest.fn(
      desktopAppInvoke({
        containerPrefix: t.config.agent.containerPrefix,
        cliEnv: t.config.agent.env,
      }),
    );
    const uninstall = installTauriGlobal(invoke);
    let desktop: AdapterPass;
    try {
      desktop = await useAdapter('dev');
    } finally {
      uninstall();
    }

    expectPassToWork(desktop, containerName);
    expect(desktop.streamedTypes).toEqual(['result']);
    expect(shapeOf(desktop)).toEqual(shapeOf(web));
    // The JSON output is the CLI's result object in both: the same fields.
    expect(shapeOf(JSON.parse(desktop.jsonResult.json_output!))).toEqual(
      shapeOf(JSON.parse(web.jsonResult.json_output!)),
    );
    expect(shapeOf(JSON.parse(desktop.streamResult.json_output!))).toEqual(
      shapeOf(JSON.parse(web.streamResult.json_output!)),
    );
    expect(new Set(invoke.mock.calls.map(([command]) => command))).toEqual(
      new Set(Object.values(claudecode.TAURI_COMMANDS)),
    );
  });
});
