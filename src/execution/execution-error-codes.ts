/** Why a run that reached the CLI ended with `success: false` (the reply is still HTTP 200). */
export const ExecutionErrorCode = {
  /** The CLI reported an error: the model API failed, turns ran out, and so on. */
  CLI_ERROR: 'CLI_ERROR',
  /** The CLI exited without a result. */
  CLI_EXITED: 'CLI_EXITED',
  /** The deadline passed; the CLI process was killed. */
  EXECUTION_TIMEOUT: 'EXECUTION_TIMEOUT',
  /** The CLI wrote far more than MAX_OUTPUT_BYTES; it was stopped. */
  OUTPUT_LIMIT: 'OUTPUT_LIMIT',
} as const;

export type ExecutionErrorCode = (typeof ExecutionErrorCode)[keyof typeof ExecutionErrorCode];
