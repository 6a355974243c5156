/** Why a run ended without success (for POST /api/execute the reply is still HTTP 200). */
export const ExecutionErrorCode = {
  /** The CLI reported an error: the model API failed, turns ran out, and so on. */
  CLI_ERROR: 'CLI_ERROR',
  /** The CLI exited without a result. */
  CLI_EXITED: 'CLI_EXITED',
  /** The deadline passed; the CLI process was killed. */
  EXECUTION_TIMEOUT: 'EXECUTION_TIMEOUT',
  /** The CLI wrote far more than MAX_OUTPUT_BYTES; it was stopped. */
  OUTPUT_LIMIT: 'OUTPUT_LIMIT',
  /** A process of the environment's container was killed for lack of memory during the run. */
  MEMORY_LIMIT: 'MEMORY_LIMIT',
  /** The environment's container refused a process during the run: its pids limit was reached. */
  PIDS_LIMIT: 'PIDS_LIMIT',
  /** The environment's /tmp (a memory-backed tmpfs) was full when the run ended. */
  TMP_FULL: 'TMP_FULL',
  /** The run could not start in its container (Docker went away, the session vanished…). */
  SETUP_FAILED: 'SETUP_FAILED',
  /** Cancelled through the API. */
  CANCELLED: 'CANCELLED',
  /** Interrupted by a prompt sent to its session with `whenSessionBusy: steer`, which runs next. */
  STEERED: 'STEERED',
  /** The service shut down (or crashed, or its replica stopped answering) during the run. */
  INTERRUPTED: 'INTERRUPTED',
  // Budgets and structured output.
  /** The run spent its `maxBudgetUsd`; the CLI stopped it. */
  BUDGET_EXCEEDED: 'BUDGET_EXCEEDED',
  /** The run asked for `outputSchema`, and the answer never conformed to it. */
  STRUCTURED_OUTPUT_INVALID: 'STRUCTURED_OUTPUT_INVALID',
} as const;

export type ExecutionErrorCode = (typeof ExecutionErrorCode)[keyof typeof ExecutionErrorCode];
