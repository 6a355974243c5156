import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTokenHandler } from '../../examples/lifeos/api/claudecode-token';
import * as claudecode from '../../examples/lifeos/claudecode';
import { desktopAppInvoke, installTauriGlobal } from '../support/desktop-app-stub';
import { removeDockerObjects } from '../support/docker-cli';
import { FakeAnthropic, messageText, startFakeAnthropic } from '../support/fake-anthropic';
import { serveFetchHandler, ServedHandler } from '../support/fetch-handler-server';
import { specCheckedFetch } from '../support/spec-checked-client';
import { startAppWithFakeUpstream, TestApp } from '../support/test-app';

const FIRST_PROMPT = 'Remember a word for me.';
const FIRST_ANSWER = 'The word is heliotrope.';
const FOLLOW_UP = 'Which word was it?';

/** What LifeOS's ClaudeCodeContext sees at each step of its sequence. */
interface ContextPass {
  dockerAvailable: boolean;
  statusBefore: claudecode.ContainerStatus;
  statusAfterCreate: claudecode.ContainerStatus;
  sessionId: string | null;
  first: claudecode.ClaudeCodeResult;
  followUp: claudecode.ClaudeCodeResult;
  /** The conversation the follow-up sent the model. */
  followUpSaw: string;
  thread: claudecode.ConversationThread | undefined;
  deleted: boolean;
  listedAfterDelete: string[];
  statusAfterRemove: claudecode.ContainerStatus;
}

/**
 * The calls ClaudeCodeContext makes, in its order and with its arguments: the Docker check on
 * mount, the status, "Create container" (the environment has none yet), a new thread, a prompt
 * and a follow-up in it, the thread list, deleting the thread, and "Remove container".
 */
async function driveTheContextSequence(
  env: claudecode.Environment,
  mcpConfigPath: string,
  fake: FakeAnthropic,
): Promise<ContextPass> {
  const dockerAvailable = await claudecode.checkDockerAvailable();
  const statusBefore = await claudecode.getContainerStatus(env);
  if (statusBefore.exists) await claudecode.startContainer(env);
  else await claudecode.createContainer(env, mcpConfigPath);
  const statusAfterCreate = await claudecode.getContainerStatus(env);
  const sessionId = await claudecode.createSession(env);
  // The Context's jsonDebugMode is off, and it always passes the active thread.
  fake.replyText(FIRST_ANSWER);
  const first = await claudecode.executePrompt(env, FIRST_PROMPT, false, sessionId ?? undefined);
  const followUp = await claudecode.executePrompt(env, FOLLOW_UP, false, sessionId ?? undefined);
  const followUpSaw = fake.mainRequests.at(-1)!.body.messages.map(messageText).join('\n');
  const thread = (await claudecode.listSessions(env)).find(({ id }) => id === sessionId);
  const deleted = sessionId !== null && (await claudecode.deleteSession(env, sessionId));
  const listedAfterDelete = (await claudecode.listSessions(env)).map(({ id }) => id);
  await claudecode.removeContainer(env);
  const statusAfterRemove = await claudecode.getContainerStatus(env);
  return {
    dockerAvailable,
    statusBefore,
    statusAfterCreate,
    sessionId,
    first,
    followUp,
    followUpSaw,
    thread,
    deleted,
    listedAfterDelete,
    statusAfterRemove,
  };
}

/** What both modes must show the Context; only the container's name differs between them. */
function expectTheContextToSeeItWork(pass: ContextPass, containerName: string): void {
  expect(pass.dockerAvailable).toBe(true);
  expect(pass.statusBefore).toEqual({ name: containerName, exists: false, running: false });
  expect(pass.statusAfterCreate).toEqual({ name: containerName, exists: true, running: true });
  expect(pass.sessionId).toMatch(/^[0-9a-f-]{36}$/);
  expect(pass.first).toEqual({ success: true, output: FIRST_ANSWER });
  expect(pass.followUp).toEqual({ success: true, output: `echo: ${FOLLOW_UP}` });
  // The follow-up continued the thread: the model saw the first turn, question and answer.
  expect(pass.followUpSaw).toContain(FIRST_PROMPT);
  expect(pass.followUpSaw).toContain(FIRST_ANSWER);
  expect(pass.thread).toMatchObject({ id: pass.sessionId, environment: 'dev' });
  // ThreadSidebar sorts by updatedAt.getTime() and shows messageCount.
  expect(pass.thread!.updatedAt.getTime()).toBeGreaterThanOrEqual(pass.thread!.createdAt.getTime());
  expect(Number.isNaN(pass.thread!.updatedAt.getTime())).toBe(false);
  expect(typeof pass.thread!.messageCount).toBe('number');
  expect(pass.thread!.title).not.toBe('');
  expect(pass.deleted).toBe(true);
  expect(pass.listedAfterDelete).not.toContain(pass.sessionId);
  expect(pass.statusAfterRemove).toEqual({ name: containerName, exists: false, running: false });
}

describe('the LifeOS adapter (examples/lifeos/claudecode.ts) driven as ClaudeCodeContext drives it', () => {
  let fake: FakeAnthropic;
  let t: TestApp;
  let mcpConfigPath: string;
  let tokenFunction: ServedHandler;
  const prefixes: string[] = [];

  beforeAll(async () => {
    fake = await startFakeAnthropic();
    t = await startAppWithFakeUpstream(fake.url, prefixes);
    // LifeOS's token function: the browser holds only the short-lived scoped tokens it mints.
    tokenFunction = await serveFetchHandler(
      createTokenHandler({
        apiUrl: t.baseUrl,
        masterToken: t.token,
        authenticate: () => Promise.resolve({ id: 'ada' }),
        scopeFor: () => ({ environments: ['dev', 'staging'], actions: ['read', 'run', 'admin'] }),
        ttlSeconds: 600,
      }),
      '/api/claudecode-token',
    );
    mcpConfigPath = join(mkdtempSync(join(tmpdir(), 'lifeos-mcp-')), '.mcp.json');
    writeFileSync(mcpConfigPath, JSON.stringify({ mcpServers: {} }));
  });
  beforeEach(() => {
    // Every call the adapter makes is checked against openapi.json on the way back.
    claudecode.configureClaudeCode({
      baseUrl: t.baseUrl,
      token: claudecode.tokenFromFunction(tokenFunction.url),
      fetch: specCheckedFetch,
    });
  });
  afterEach(() => fake.clear());
  afterAll(async () => {
    claudecode.configureClaudeCode(undefined);
    await tokenFunction.close();
    await t.close();
    await fake.close();
    prefixes.forEach(removeDockerObjects);
  });

  it('on the web, against the real service, with a token from the token function', async () => {
    const pass = await driveTheContextSequence('dev', mcpConfigPath, fake);
    expectTheContextToSeeItWork(pass, `${t.config.agent.containerPrefix}dev`);
  });

  it('in the desktop app, against a stand-in for its Tauri commands', async () => {
    const containerPrefix = `${t.config.agent.containerPrefix}desktop-`;
    const uninstall = installTauriGlobal(
      desktopAppInvoke({
        containerPrefix,
        volumePrefix: `${t.config.agent.volumePrefix}desktop-`,
        image: t.config.agent.image,
        // The test agents reach the fake upstream on the loopback.
        runOptions: ['--network', 'host'],
        cliEnv: t.config.agent.env,
      }),
    );
    try {
      const pass = await driveTheContextSequence('dev', mcpConfigPath, fake);
      expectTheContextToSeeItWork(pass, `${containerPrefix}dev`);
    } finally {
      uninstall();
    }
  });

  it('on the web, streams a prompt and cancels it when its signal aborts', async () => {
    await claudecode.startContainer('staging');
    const streamed: string[] = [];
    const done = await claudecode.streamExecution('staging', 'stream it', (message) =>
      streamed.push(message.type),
    );
    expect(done).toEqual({ success: true, output: 'echo: stream it' });
    expect(streamed).toEqual(expect.arrayContaining(['system', 'assistant', 'result']));

    fake.replySlow('too late', { delayMs: 60_000 });
    const aborter = new AbortController();
    const cancelled = await claudecode.streamExecution(
      'staging',
      'take your time',
      // The CLI's init message: the run has started.
      (message) => message.type === 'system' && aborter.abort(),
      { signal: aborter.signal },
    );
    expect(cancelled).toEqual({ success: false, error: expect.stringMatching(/cancel/i) });
  });
});
