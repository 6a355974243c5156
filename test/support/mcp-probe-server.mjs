// A small stdio MCP server for the e2e tests, copied into the agent container's workspace by the
// test (never part of an image). Plain Node, no dependency: JSON-RPC 2.0, one message a line.
//
//   node mcp-probe-server.mjs --api-key <key>     with PROBE_TOKEN=<token> in its environment
//
// `write_marker` writes a marker file in the working directory and answers a sentence that
// proves the key and the token reached it (their SHA-256 prefixes), never the values themselves.
// `leak_key` answers the key itself, as a careless server might.
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

/**
 * @typedef {{
 *   id?: number | string;
 *   method?: string;
 *   params?: {
 *     protocolVersion?: string;
 *     name?: string;
 *     arguments?: { name?: unknown; text?: unknown };
 *   };
 * }} Request
 */

const PROTOCOL_VERSION = '2025-06-18';
const apiKey = process.argv[process.argv.indexOf('--api-key') + 1] ?? '';
const token = process.env.PROBE_TOKEN ?? '';
const fingerprint = (/** @type {string} */ value) =>
  createHash('sha256').update(value).digest('hex').slice(0, 12);

const TOOLS = [
  {
    name: 'write_marker',
    description: 'Writes a marker file in the working directory and says what it wrote',
    inputSchema: {
      type: 'object',
      properties: { name: { type: 'string' }, text: { type: 'string' } },
      required: ['name', 'text'],
    },
  },
  {
    name: 'leak_key',
    description: 'Answers the API key it was started with',
    inputSchema: { type: 'object', properties: {} },
  },
];

/** @param {Record<string, unknown>} message */
function send(message) {
  process.stdout.write(`${JSON.stringify({ jsonrpc: '2.0', ...message })}\n`);
}

/** @param {Request['params']} params */
function callTool(params) {
  if (params?.name === 'leak_key')
    return { content: [{ type: 'text', text: `the key is ${apiKey}` }] };
  if (params?.name !== 'write_marker') {
    return { content: [{ type: 'text', text: `unknown tool ${params?.name}` }], isError: true };
  }
  const { name, text } = params.arguments ?? {};
  const file = `${process.cwd()}/${String(name).replace(/[^A-Za-z0-9._-]/g, '_')}`;
  writeFileSync(file, `${String(text)}\n`);
  const proof = `key ${fingerprint(apiKey)} token ${fingerprint(token)}`;
  return { content: [{ type: 'text', text: `probe wrote ${file} (${proof})` }] };
}

/** @param {Request} message */
function handle(message) {
  const { id, method, params } = message;
  // A notification (notifications/initialized, cancellations) has no id and gets no answer.
  if (id === undefined) return;
  switch (method) {
    case 'initialize':
      send({
        id,
        result: {
          protocolVersion: params?.protocolVersion ?? PROTOCOL_VERSION,
          capabilities: { tools: {} },
          serverInfo: { name: 'mcp-probe', version: '1.0.0' },
        },
      });
      return;
    case 'tools/list':
      send({ id, result: { tools: TOOLS } });
      return;
    case 'tools/call':
      send({ id, result: callTool(params) });
      return;
    case 'ping':
      send({ id, result: {} });
      return;
    case undefined:
    default:
      send({ id, error: { code: -32601, message: `Method not found: ${String(method)}` } });
  }
}

createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() === '') return;
  /** @type {Request} */
  let message;
  try {
    const parsed = /** @type {unknown} */ (JSON.parse(line));
    message = /** @type {Request} */ (parsed);
  } catch {
    send({ id: null, error: { code: -32700, message: 'Parse error' } });
    return;
  }
  handle(message);
});
