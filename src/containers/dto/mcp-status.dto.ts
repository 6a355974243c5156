import { ApiProperty } from '@nestjs/swagger';

export const McpTransport = { stdio: 'stdio', http: 'http', sse: 'sse' } as const;
export type McpTransport = (typeof McpTransport)[keyof typeof McpTransport];

export const McpServerState = {
  connected: 'connected',
  failed: 'failed',
  'needs-auth': 'needs-auth',
  pending: 'pending',
  disabled: 'disabled',
} as const;
export type McpServerState = (typeof McpServerState)[keyof typeof McpServerState];

/** A tool an MCP server offers; the model calls it as `mcp__<server>__<tool>`. */
export class McpToolDto {
  /** The tool's name as the server lists it, e.g. `create_note`. */
  name!: string;

  /** The server's own description of the tool. */
  description?: string;
}

/**
 * One MCP server as Claude Code in the container sees it. Never its command, args, env, url or
 * headers: they may hold secrets.
 */
export class McpServerDto {
  /** The server's name, the key of its entry in the MCP config, e.g. `lifeos`. */
  name!: string;

  /** `stdio`: started by Claude Code inside the container; `http`, `sse`: reached over the network. */
  @ApiProperty({ enum: McpTransport, enumName: 'McpTransport' })
  type!: McpTransport;

  /** `pending` when it was still connecting at the read's deadline. */
  @ApiProperty({ enum: McpServerState, enumName: 'McpServerState' })
  status!: McpServerState;

  /** Why it failed, when it did; any value of the MCP config in it is redacted. */
  error?: string;

  /** Its tools, once connected. */
  tools!: McpToolDto[];
}

/** The MCP servers of an environment's Claude Code (MCP_CONFIG, MCP_CONFIG_<ENV>, its settings). */
export class McpStatusDto {
  /** The environment, e.g. `dev`. */
  env!: string;

  servers!: McpServerDto[];
}
