import type { SDKMessage } from '@anthropic-ai/claude-agent-sdk';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { agentMcp, REDACTED, SecretRedactor } from '../../../src/agent/agent-mcp';
import { mcpReports } from '../../../src/agent/mcp-status';
import { cliOptions, RunState } from '../../../src/agent/sdk-run-executor';
import { loadConfig } from '../../../src/common/config/load-config';

const SECRET = 'sk-mcp-"quoted"\\secret';
const servers = {
  notes: {
    command: 'node',
    args: ['/srv/notes.mjs', '--api-key', SECRET],
    env: { TOKEN: 'tok-1234' },
  },
};
const file = join(mkdtempSync(join(tmpdir(), 'cca-agent-mcp-')), 'mcp.json');
writeFileSync(file, JSON.stringify({ mcpServers: servers }));
const config = loadConfig({
  API_TOKEN: 't'.repeat(32),
  ENVIRONMENTS: 'dev,prod',
  MCP_CONFIG_DEV: file,
});
const session = { sessionId: '6f1c8a52-4d55-4d3b-9a43-000000000001', resume: false };

describe("an environment's MCP servers in its CLIs", () => {
  it('go to every CLI of its container over the initialize request, and to no other', () => {
    const dev = cliOptions(config, 'claude-agent-dev', {}, session);
    expect(dev.mcpServers).toEqual(servers);
    // Over stdin: the servers' env and args never reach the exec's argv.
    expect(dev.mcpServersDelivery).toBe('initialize');
    expect(cliOptions(config, 'claude-agent-prod', {}, session).mcpServers).toBeUndefined();
  });

  it("hide the config's secrets in the run's messages, output and stderr", () => {
    const state = new RunState(1024, agentMcp(config, 'claude-agent-dev').redactor);
    const init = {
      type: 'system',
      subtype: 'init',
      mcp_servers: [{ name: 'notes', status: 'failed' }],
      note: `spawned node /srv/notes.mjs --api-key ${SECRET}`,
    } as unknown as SDKMessage;
    expect(state.accept(init)).toMatchObject({
      note: `spawned node ${REDACTED} --api-key ${REDACTED}`,
    });
    const result = {
      type: 'result',
      subtype: 'success',
      result: `the key is ${SECRET} and tok-1234`,
    } as unknown as SDKMessage;
    state.accept(result);
    state.addStderr(`MCP server notes failed: TOKEN=tok-1234\n`);
    const outcome = state.outcome(0);
    expect(outcome.output).toBe(`the key is ${REDACTED} and ${REDACTED}`);
    expect(outcome.stderrTail).toBe(`MCP server notes failed: TOKEN=${REDACTED}`);
    expect(JSON.stringify(outcome)).not.toContain('tok-1234');
  });

  it('hand on a message that holds no secret as it is, and redact errors', () => {
    const message = { type: 'assistant', text: 'nothing to hide' };
    expect(agentMcp(config, 'claude-agent-dev').redactor.value(message)).toBe(message);
    expect(new SecretRedactor([]).text(`a ${SECRET}`)).toBe(`a ${SECRET}`);
    const failed = new Error(`spawn node /srv/notes.mjs --api-key ${SECRET} failed`);
    expect(agentMcp(config, 'claude-agent-dev').redactor.error(failed).message).toBe(
      `spawn node ${REDACTED} --api-key ${REDACTED} failed`,
    );
  });

  it("report a server's status without its settings, and with its error redacted", () => {
    const reports = mcpReports(
      [
        {
          name: 'notes',
          status: 'failed',
          error: `Cannot find module /srv/notes.mjs (key ${SECRET})`,
          config: { type: 'stdio', command: 'node', args: ['/srv/notes.mjs', SECRET] },
        },
        {
          name: 'remote',
          status: 'connected',
          config: { type: 'http', url: 'https://mcp.example.com', headers: { a: SECRET } },
          tools: [{ name: 'list', description: 'Lists', annotations: { readOnly: true } }],
        },
      ],
      agentMcp(config, 'claude-agent-dev').redactor,
    );
    expect(reports).toEqual([
      {
        name: 'notes',
        transport: 'stdio',
        status: 'failed',
        error: `Cannot find module ${REDACTED} (key ${REDACTED})`,
        tools: [],
      },
      {
        name: 'remote',
        transport: 'http',
        status: 'connected',
        tools: [{ name: 'list', description: 'Lists' }],
      },
    ]);
  });
});
