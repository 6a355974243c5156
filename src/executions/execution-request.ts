import { PromptOptions } from '../agent/run-executor';

/** What a prompt does when its session is already running one. */
export const WhenSessionBusy = {
  /** Wait behind the session's runs (the default of `POST /api/executions`). */
  queue: 'queue',
  /** Interrupt the session's running turn and run next, with the context so far. */
  steer: 'steer',
  /** Answer 409 SESSION_BUSY (the default of `POST /api/execute`). */
  reject: 'reject',
} as const;
export type WhenSessionBusy = (typeof WhenSessionBusy)[keyof typeof WhenSessionBusy];

/** What a run was asked to do, as submitted and as stored with it (the prompt included). */
export interface ExecutionRequest extends PromptOptions {
  env: string;
  /** Continue this session (or start a reserved one); without it a new session is started. */
  sessionId?: string;
  jsonOutput?: boolean;
  /** Lowers the run's deadline below EXECUTION_TIMEOUT_MS. */
  timeoutMs?: number;
  whenSessionBusy?: WhenSessionBusy;
}
