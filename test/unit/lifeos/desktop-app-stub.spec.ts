import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { desktopOverRecordingDocker, DockerOutcome } from '../../support/desktop-app-stub';

/** The stub over a recording Docker CLI. */
function stubWithDocker(answer?: (args: string[]) => Partial<DockerOutcome>) {
  const { invoke, dockerCalls } = desktopOverRecordingDocker(answer);
  return { invoke, calls: dockerCalls };
}

describe('the desktop app stub (Tauri 2 and src-tauri/src/claudecode.rs)', () => {
  it("rejects a missing argument with Tauri's message, naming the camelCase key", async () => {
    const { invoke, calls } = stubWithDocker();
    await expect(
      invoke('execute_claude_prompt', { env: 'dev', prompt: 'hi', sessionId: null }),
    ).rejects.toBe(
      'invalid args `jsonOutput` for command `execute_claude_prompt`: command execute_claude_prompt missing required key jsonOutput',
    );
    // The snake_case name is not what Tauri looks for.
    await expect(invoke('delete_claude_session', { env: 'dev', session_id: 'abc' })).rejects.toBe(
      'invalid args `sessionId` for command `delete_claude_session`: command delete_claude_session missing required key sessionId',
    );
    // An undefined value does not survive the JSON that carries the arguments.
    await expect(invoke('create_container', { env: 'dev', mcpConfigPath: undefined })).rejects.toBe(
      'invalid args `mcpConfigPath` for command `create_container`: command create_container missing required key mcpConfigPath',
    );
    expect(calls).toEqual([]);
  });

  it("rejects a mistyped argument with serde's words", async () => {
    const { invoke } = stubWithDocker();
    await expect(
      invoke('execute_claude_prompt', { env: 'dev', prompt: 'hi', jsonOutput: 'yes' }),
    ).rejects.toBe(
      'invalid args `jsonOutput` for command `execute_claude_prompt`: invalid type: string "yes", expected a boolean',
    );
    await expect(invoke('get_container_status', { env: null })).rejects.toBe(
      'invalid args `env` for command `get_container_status`: invalid type: null, expected a string',
    );
    await expect(
      invoke('execute_claude_prompt', {
        env: 'dev',
        prompt: 'hi',
        jsonOutput: false,
        sessionId: 7,
      }),
    ).rejects.toBe(
      'invalid args `sessionId` for command `execute_claude_prompt`: invalid type: integer `7`, expected a string',
    );
  });

  it('rejects an unknown command as Tauri does', async () => {
    await expect(stubWithDocker().invoke('run_everything')).rejects.toBe(
      'Command run_everything not found',
    );
  });

  it("fills the Rust's snake_case parameters: an Option may be null or absent", async () => {
    const { invoke, calls } = stubWithDocker(() => ({ stdout: '{"type":"result"}' }));
    await invoke('execute_claude_prompt', {
      env: 'dev',
      prompt: 'again',
      jsonOutput: true,
      sessionId: 'abc',
    });
    await invoke('execute_claude_prompt', { env: 'dev', prompt: 'new', jsonOutput: false });
    await invoke('execute_claude_prompt', {
      env: 'dev',
      prompt: 'new',
      jsonOutput: false,
      sessionId: null,
    });
    const claude = ['claude', '--dangerously-skip-permissions', '--print'];
    expect(calls).toEqual([
      [
        'exec',
        'claude-agent-dev',
        ...claude,
        '--resume',
        'abc',
        '--output-format',
        'json',
        '-p',
        'again',
      ],
      ['exec', 'claude-agent-dev', ...claude, '-p', 'new'],
      ['exec', 'claude-agent-dev', ...claude, '-p', 'new'],
    ]);
  });

  it('creates a container as the desktop does: its volumes and the .mcp.json, read-only', async () => {
    const mcpConfigPath = join(mkdtempSync(join(tmpdir(), 'desktop-stub-')), '.mcp.json');
    writeFileSync(mcpConfigPath, '{"mcpServers":{}}');
    const { invoke, calls } = stubWithDocker();
    await expect(invoke('create_container', { env: 'dev', mcpConfigPath })).resolves.toBeNull();
    expect(calls.at(-1)).toEqual([
      'run',
      '-d',
      '--name',
      'claude-agent-dev',
      '-v',
      'claude-credentials:/home/node/.claude',
      '-v',
      'claude-config:/home/node/.config',
      '-v',
      'claude-sessions-dev:/home/node/.claude/projects',
      '-v',
      `${mcpConfigPath}:/home/node/.mcp.json:ro`,
      'claude-agent',
    ]);

    await expect(
      invoke('create_container', { env: 'dev', mcpConfigPath: '/nowhere/.mcp.json' }),
    ).rejects.toBe('MCP config file not found: /nowhere/.mcp.json');
    const existing = stubWithDocker((args) =>
      args[0] === 'ps' ? { stdout: 'claude-agent-dev\n' } : {},
    );
    await expect(existing.invoke('create_container', { env: 'dev', mcpConfigPath })).rejects.toBe(
      'Container claude-agent-dev already exists. Remove it first or start it.',
    );
  });

  it("answers with serde's JSON and rejects with the command's Err(String)", async () => {
    const failing = stubWithDocker(() => ({ ok: false, stderr: 'No such container' }));
    await expect(failing.invoke('start_container', { env: 'dev' })).rejects.toBe(
      'Failed to start container: No such container',
    );
    await expect(
      failing.invoke('execute_claude_prompt', { env: 'dev', prompt: 'hi', jsonOutput: false }),
    ).resolves.toEqual({
      success: false,
      output: null,
      error: 'No such container',
      json_output: null,
    });
    await expect(failing.invoke('check_docker_available')).resolves.toBe(false);

    const running = stubWithDocker(() => ({ stdout: 'Up 3 minutes\n' }));
    await expect(running.invoke('get_container_status', { env: 'dev' })).resolves.toEqual({
      exists: true,
      running: true,
      name: 'claude-agent-dev',
    });
  });
});
