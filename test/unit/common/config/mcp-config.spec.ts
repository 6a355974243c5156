import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../../../src/common/config/load-config';
import { CONFIG_TOKEN, configProblems } from '../../../support/config-problems';
import { mcpSecrets } from '../../../../src/common/config/mcp-config';

const TOKEN = CONFIG_TOKEN;
const SECRET = 'sk-mcp-secret-value-123';
const dir = mkdtempSync(join(tmpdir(), 'cca-mcp-config-'));

/** A file in a temporary folder holding `content` (JSON unless a string). */
function file(name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

const lifeos = {
  mcpServers: {
    'lifeos-dev': {
      command: 'npx',
      args: ['@starascendin/lifeos-mcp', '--url', 'https://x.convex.site', '--api-key', SECRET],
    },
    notes: {
      type: 'http',
      url: 'https://notes.example.com/mcp',
      headers: { Authorization: SECRET },
    },
  },
};

describe('MCP servers per environment (MCP_CONFIG, MCP_CONFIG_<ENV>)', () => {
  it('gives no environment a server when nothing is set', () => {
    expect(loadConfig({ API_TOKEN: TOKEN }).agent.mcpServers).toEqual({
      dev: {},
      staging: {},
      prod: {},
    });
  });

  it("reads LifeOS's .mcp.json format; an environment's own file replaces the shared one", () => {
    const prodOnly = {
      mcpServers: { 'lifeos-prod': { type: 'sse', url: 'https://p.example.com' } },
    };
    const { mcpServers } = loadConfig({
      API_TOKEN: TOKEN,
      ENVIRONMENTS: 'dev,prod,qa-2',
      MCP_CONFIG: file('shared.json', lifeos),
      MCP_CONFIG_PROD: file('prod.json', prodOnly),
    }).agent;
    expect(mcpServers.dev).toEqual(lifeos.mcpServers);
    expect(mcpServers['qa-2']).toEqual(lifeos.mcpServers);
    expect(mcpServers.prod).toEqual(prodOnly.mcpServers);
  });

  it.each([
    [
      { MCP_CONFIG: join(dir, 'missing.json') },
      `MCP_CONFIG (${join(dir, 'missing.json')}): the file cannot be read (ENOENT)`,
    ],
    [{ MCP_CONFIG_QA: '/x.json' }, 'MCP_CONFIG_QA names no environment of ENVIRONMENTS'],
  ])('refuses %j: %s', (env, problem) => {
    expect(configProblems(env)).toEqual([problem]);
  });

  it('names each bad value by variable, file and server, and never quotes a value', () => {
    const broken = file(
      'broken.json',
      `{"mcpServers": {"a": {"command": "x", "args": ["${SECRET}"] oops}}}`,
    );
    const shapes = file('shapes.json', {
      mcpServers: {
        'bad name!': { command: 'x' },
        nocommand: { args: [SECRET] },
        badargs: { command: 'node', args: SECRET, env: { KEY: 1 } },
        badtype: { type: 'ws', url: SECRET },
        badurl: { type: 'http', url: `ftp://${SECRET}`, headers: [SECRET], extra: SECRET },
        badextras: { command: 'node', timeout: -1, alwaysLoad: 'yes' },
      },
    });
    const problems = configProblems({
      ENVIRONMENTS: 'dev,prod',
      MCP_CONFIG_DEV: broken,
      MCP_CONFIG_PROD: shapes,
      MCP_CONFIG: file('array.json', [1]),
    });
    const prod = `MCP_CONFIG_PROD (${shapes})`;
    expect(problems).toEqual([
      `MCP_CONFIG (${join(dir, 'array.json')}): the file must hold an object {"mcpServers": {"<name>": {...}}}`,
      `MCP_CONFIG_DEV (${broken}): the file is not valid JSON (at position 74)`,
      `${prod}: the server name "bad name!" must match ^[A-Za-z0-9_-]{1,64}$`,
      `${prod}: server "nocommand": command must be a non-empty string`,
      `${prod}: server "badargs": args must be a list of strings`,
      `${prod}: server "badargs": env must be an object of string values`,
      `${prod}: server "badtype": type must be stdio, http or sse`,
      `${prod}: server "badurl": "extra" is not a setting of a http server`,
      `${prod}: server "badurl": url must be an http:// or https:// URL`,
      `${prod}: server "badurl": headers must be an object of string values`,
      `${prod}: server "badextras": timeout must be a positive integer of milliseconds`,
      `${prod}: server "badextras": alwaysLoad must be true or false`,
    ]);
    expect(problems.join('\n')).not.toContain(SECRET);
  });
});

describe('mcpSecrets', () => {
  it('lists the args, env and header values and urls, longest first, but not flags', () => {
    expect(
      mcpSecrets({
        a: {
          command: 'node',
          args: ['--api-key', SECRET, '-y', '/srv/mcp.mjs'],
          env: { TOKEN: 'tok-1234' },
        },
        b: {
          type: 'http',
          url: 'https://mcp.example.com',
          headers: { Authorization: `Bearer ${SECRET}` },
        },
      }),
    ).toEqual([`Bearer ${SECRET}`, SECRET, 'https://mcp.example.com', '/srv/mcp.mjs', 'tok-1234']);
  });
});
