import createClient, { type Client } from 'openapi-fetch';
import { trimSlash } from './url.js';
import type { paths } from './schema.js';

export type { components, operations, paths } from './schema.js';
export * from './events.js';

export interface ClaudeCodeClientOptions {
  /** The service's origin, e.g. `https://claudecode.example.com`. */
  baseUrl: string;
  /** The bearer token (API_TOKEN). */
  token: string;
  fetch?: typeof globalThis.fetch;
}

export type ClaudeCodeClient = Client<paths>;

/** A typed client of claudecode-api: `client.GET('/api/containers/{env}', …)` and so on. */
export function createClaudeCodeClient(options: ClaudeCodeClientOptions): ClaudeCodeClient {
  return createClient<paths>({
    baseUrl: trimSlash(options.baseUrl),
    headers: { Authorization: `Bearer ${options.token}` },
    fetch: options.fetch,
  });
}
