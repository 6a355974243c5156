/** Where a run is in its life. The last five are final. */
export const ExecutionStatus = {
  queued: 'queued',
  running: 'running',
  succeeded: 'succeeded',
  failed: 'failed',
  cancelled: 'cancelled',
  timed_out: 'timed_out',
  interrupted: 'interrupted',
} as const;
export type ExecutionStatus = (typeof ExecutionStatus)[keyof typeof ExecutionStatus];

export function isFinal(status: ExecutionStatus): boolean {
  return status !== ExecutionStatus.queued && status !== ExecutionStatus.running;
}
