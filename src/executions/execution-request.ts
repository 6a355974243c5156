import { PromptOptions } from '../agent/run-executor';

/** What a run was asked to do, as submitted and as stored with it (the prompt included). */
export interface ExecutionRequest extends PromptOptions {
  env: string;
  /** Continue this session (or start a reserved one); without it a new session is started. */
  sessionId?: string;
  jsonOutput?: boolean;
  /** Lowers the run's deadline below EXECUTION_TIMEOUT_MS. */
  timeoutMs?: number;
}
