import type { McpServerStatus, Query } from '@anthropic-ai/claude-agent-sdk';
import { SecretRedactor } from './agent-mcp';
import { McpServerReport } from './run-executor';

/** How long a read of the MCP servers' status may take, a CLI's start included. */
export const MCP_STATUS_DEADLINE_MS = 30_000;
/** How often a status read asks again while a server is still connecting. */
const POLL_MS = 250;

/**
 * The MCP servers' status from the CLI behind `query`, once none is still connecting or as it
 * is at `deadline` (epoch ms); throws when the CLI has not answered by then.
 */
export async function settledMcpStatus(query: Query, deadline: number): Promise<McpServerStatus[]> {
  for (;;) {
    const statuses = await beforeDeadline(query.mcpServerStatus(), deadline);
    const connecting = statuses.some((server) => server.status === 'pending');
    if (!connecting || Date.now() + POLL_MS >= deadline) return statuses;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** What the API may show of each server: never its `config` (secrets), its error redacted. */
export function mcpReports(
  statuses: readonly McpServerStatus[],
  redactor: SecretRedactor,
): McpServerReport[] {
  return statuses.map((server) => ({
    name: server.name,
    transport: server.config?.type ?? 'stdio',
    status: server.status,
    ...(server.error === undefined ? {} : { error: redactor.text(server.error) }),
    tools: (server.tools ?? []).map(({ name, description }) => ({ name, description })),
  }));
}

function beforeDeadline<T>(promise: Promise<T>, deadline: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error('Claude Code did not answer in time')),
      Math.max(0, deadline - Date.now()),
    );
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}
