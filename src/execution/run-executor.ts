import type { SDKMessage, SDKResultMessage } from '@anthropic-ai/claude-agent-sdk';
import { PermissionMode } from './dto/execute-request.dto';

/** One prompt, fully resolved: which container, which session, which limits. */
export interface RunRequest {
  runId: string;
  containerName: string;
  prompt: string;
  sessionId: string;
  /** Continue an existing transcript (`--resume`) instead of starting one (`--session-id`). */
  resume: boolean;
  model?: string;
  maxTurns?: number;
  allowedTools?: string[];
  disallowedTools?: string[];
  permissionMode?: PermissionMode;
  appendSystemPrompt?: string;
  deadlineMs: number;
  maxOutputBytes: number;
  /** Also stream token deltas (`stream_event` messages). */
  includePartialMessages?: boolean;
  /** Aborting it interrupts the run: the turn is interrupted, then the CLI killed after a grace. */
  signal?: AbortSignal;
  /** Called with every message of the run, as it arrives. */
  onMessage?: (message: SDKMessage) => void;
}

export type RunEnd = 'result' | 'timeout' | 'output_limit' | 'cancelled' | 'exited';

export interface RunOutcome {
  end: RunEnd;
  /** The CLI's result message, when it sent one. */
  result: SDKResultMessage | null;
  /** The answer text, cut at `maxOutputBytes`. */
  output: string;
  truncated: boolean;
  exitCode: number | null;
  /** The tail of the CLI's stderr, for error messages. */
  stderrTail: string;
  /** Set when the run failed before or outside the CLI's own result. */
  failure?: string;
}

/**
 * Runs prompts in an environment's container. The routes and the execution service depend on
 * this interface only, so a pool of warm CLI processes can implement it later.
 */
export abstract class RunExecutor {
  abstract run(request: RunRequest): Promise<RunOutcome>;
}
