import { SetMetadata } from '@nestjs/common';

export const RUNS_CLAUDE_KEY = 'claudecode:runsClaude';

/** Marks a route that starts a Claude run: it also counts against the stricter `claude` bucket. */
export const RunsClaude = (): MethodDecorator & ClassDecorator =>
  SetMetadata(RUNS_CLAUDE_KEY, true);
