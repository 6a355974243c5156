import * as claudecode from '../../../examples/lifeos/claudecode';
import { installTauriGlobal, TauriInvoke } from '../../support/desktop-app-stub';

/** An invoke that answers only the given commands, as the desktop's Rust would serialize them. */
function desktopAnswering(answers: Record<string, unknown>): jest.Mock<ReturnType<TauriInvoke>> {
  return jest.fn((command: string) =>
    command in answers
      ? Promise.resolve(answers[command])
      : Promise.reject(new Error(`unexpected command ${command}`)),
  );
}

describe('the LifeOS adapter in the desktop app (window.__TAURI__)', () => {
  let uninstall: (() => void) | undefined;
  afterEach(() => uninstall?.());

  it('passes camelCase arguments, which Tauri maps to the Rust snake_case parameters', async () => {
    const invoke = desktopAnswering({
      execute_claude_prompt: { success: true, output: 'hi\n', error: null, json_output: null },
    });
    uninstall = installTauriGlobal(invoke);

    await expect(claudecode.executePrompt('dev', 'hello')).resolves.toEqual({
      success: true,
      output: 'hi',
    });
    await claudecode.executePrompt('dev', 'again', { sessionId: 'abc', jsonOutput: false });
    expect(invoke.mock.calls).toEqual([
      [
        'execute_claude_prompt',
        { env: 'dev', prompt: 'hello', jsonOutput: false, sessionId: null },
      ],
      [
        'execute_claude_prompt',
        { env: 'dev', prompt: 'again', jsonOutput: false, sessionId: 'abc' },
      ],
    ]);
  });

  it("answers with the result's text and keeps json_output only when asked for it", async () => {
    const printed = JSON.stringify({ type: 'result', result: 'the answer', session_id: 's' });
    uninstall = installTauriGlobal(
      desktopAnswering({
        execute_claude_prompt: {
          success: true,
          output: printed,
          error: null,
          json_output: printed,
        },
      }),
    );
    await expect(claudecode.executePrompt('dev', 'q', { jsonOutput: true })).resolves.toEqual({
      success: true,
      output: 'the answer',
      json_output: printed,
    });

    const messages: claudecode.ClaudeCodeMessage[] = [];
    const streamed = await claudecode.streamExecution('dev', 'q', (m) => messages.push(m));
    expect(streamed).toEqual({ success: true, output: 'the answer' });
    expect(messages).toEqual([JSON.parse(printed)]);
  });

  it('returns a failed prompt as a result, and a failed command as a ClaudeCodeError', async () => {
    uninstall = installTauriGlobal(
      jest.fn((command: string) =>
        command === 'execute_claude_prompt'
          ? Promise.resolve({ success: false, output: null, error: 'boom', json_output: null })
          : // Tauri rejects with the command's Err(String), not an Error.
            // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
            Promise.reject('Failed to start container: no such container'),
      ),
    );
    await expect(claudecode.executePrompt('dev', 'q')).resolves.toEqual({
      success: false,
      error: 'boom',
    });
    await expect(claudecode.startContainer('dev')).rejects.toEqual(
      new claudecode.ClaudeCodeError('Failed to start container: no such container'),
    );
  });

  it("turns the desktop's Unix-seconds times into ISO times, newest first", async () => {
    uninstall = installTauriGlobal(
      desktopAnswering({
        list_claude_sessions: [
          {
            id: 'a',
            environment: 'dev',
            title: 'A',
            created_at: '1700000000',
            updated_at: '1700000000',
          },
          {
            id: 'b',
            environment: 'dev',
            title: 'B',
            created_at: '1700000000',
            updated_at: '1800000000',
          },
        ],
      }),
    );
    await expect(claudecode.listSessions('dev')).resolves.toEqual([
      {
        id: 'b',
        environment: 'dev',
        title: 'B',
        created_at: '2023-11-14T22:13:20.000Z',
        updated_at: '2027-01-15T08:00:00.000Z',
      },
      {
        id: 'a',
        environment: 'dev',
        title: 'A',
        created_at: '2023-11-14T22:13:20.000Z',
        updated_at: '2023-11-14T22:13:20.000Z',
      },
    ]);
  });

  it("also finds Tauri 1's global invoke", async () => {
    const invoke = desktopAnswering({
      get_container_status: { exists: true, running: false, name: 'claude-agent-dev' },
    });
    const global = globalThis as { __TAURI__?: unknown };
    global.__TAURI__ = { invoke };
    uninstall = () => delete global.__TAURI__;
    await expect(claudecode.getContainerStatus('dev')).resolves.toEqual({
      name: 'claude-agent-dev',
      exists: true,
      running: false,
    });
  });
});

describe('the LifeOS adapter on the web', () => {
  it('reports a service it cannot reach as a ClaudeCodeError', async () => {
    claudecode.configureClaudeCode({
      baseUrl: 'http://127.0.0.1:9',
      token: 'token',
      fetch: () => Promise.reject(new TypeError('fetch failed')),
    });
    await expect(claudecode.getContainerStatus('dev')).rejects.toEqual(
      new claudecode.ClaudeCodeError('getContainerStatus failed: fetch failed'),
    );
  });

  it('refuses to guess where the service is', async () => {
    // This module instance was never configured.
    await jest.isolateModulesAsync(async () => {
      const fresh = await import('../../../examples/lifeos/claudecode');
      await expect(fresh.getContainerStatus('dev')).rejects.toThrow(/configureClaudeCode/);
    });
  });
});
