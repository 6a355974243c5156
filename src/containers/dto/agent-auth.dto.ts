import { ApiProperty } from '@nestjs/swagger';

export const AgentAuthMethod = {
  api_key: 'api_key',
  oauth_token: 'oauth_token',
  credentials_file: 'credentials_file',
  none: 'none',
} as const;
export type AgentAuthMethod = (typeof AgentAuthMethod)[keyof typeof AgentAuthMethod];

/** How the CLI in the environment authenticates upstream. Never carries a secret. */
export class AgentAuthDto {
  /**
   * `api_key` (AGENT_ENV_ANTHROPIC_API_KEY, which the CLI prefers), `oauth_token`
   * (AGENT_ENV_CLAUDE_CODE_OAUTH_TOKEN), `credentials_file` (a `claude login` in the credentials
   * volume) or `none`.
   */
  @ApiProperty({ enum: AgentAuthMethod, enumName: 'AgentAuthMethod' })
  method!: AgentAuthMethod;
}
