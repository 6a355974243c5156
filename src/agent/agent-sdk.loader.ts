import type * as AgentSdk from '@anthropic-ai/claude-agent-sdk';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { importEsm } = require('./import-esm.js') as {
  importEsm: (specifier: string) => Promise<unknown>;
};

let loaded: Promise<typeof AgentSdk> | undefined;

/** The Agent SDK is ESM-only; this service is CommonJS. */
export function loadAgentSdk(): Promise<typeof AgentSdk> {
  loaded ??= importEsm('@anthropic-ai/claude-agent-sdk') as Promise<typeof AgentSdk>;
  return loaded;
}
