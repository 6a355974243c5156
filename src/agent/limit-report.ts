import { AGENT_TMP_DIR } from './agent-layout';

/** Which of its container's limits a run ran into. */
export type LimitHit = 'pids' | 'memory' | 'tmp';

/**
 * The container's cgroup counters at one moment (or their change over a run): processes
 * OOM-killed, forks refused (pids), and the free space of /tmp (-1 when `df` could not run).
 */
export interface LimitCounters {
  oomKills: number;
  pidsMax: number;
  tmpFreeKb: number;
}

/** Below this much free space, /tmp counts as full. */
const TMP_FULL_BELOW_KB = 1024;
const REPORT_MARKER = 'claudecode-api-limits';
const REPORT_FIELDS = `oom_kills=(-?\\d+) pids_max=(-?\\d+) tmp_free_kb=(-?\\d+)`;
const REPORT_LINE = new RegExp(`\\n?${REPORT_MARKER} ${REPORT_FIELDS}\\n?`, 'g');
const COUNTERS_LINE = new RegExp(`^${REPORT_MARKER} ${REPORT_FIELDS}$`);

/**
 * `count KEY` sums KEY over the memory and pids event files of the container's cgroup (v1 or
 * v2) into $n, with shell builtins only, so it works even when no process can be forked.
 */
const COUNT_FUNCTION = `cg=/sys/fs/cgroup
count() {
  n=0
  for file in "$cg/memory/memory.oom_control" "$cg/memory.events" "$cg/pids/pids.events" "$cg/pids.events"; do
    [ -r "$file" ] || continue
    while read -r key value; do [ "$key" = "$1" ] && n=$((n + value)); done < "$file"
  done
}`;
const READ_TMP_FREE = `free=$(df -Pk ${AGENT_TMP_DIR} 2>/dev/null | { read -r _; read -r _ _ _ avail _; echo "$avail"; })`;
const PRINT_COUNTERS = `printf '${REPORT_MARKER} oom_kills=%s pids_max=%s tmp_free_kb=%s\\n' "$oom" "$pids" "\${free:--1}"`;

/**
 * Runs the CLI (its argv follows) and, once it has ended, prints to stderr how often the
 * container's cgroup OOM-killed a process and refused a fork (pids) meanwhile, and what is left
 * of /tmp. The exit status is the CLI's.
 */
const REPORTING_SCRIPT = `${COUNT_FUNCTION}
count oom_kill; oom=$n; count max; pids=$n
"$@"; status=$?
count oom_kill; oom=$((n - oom)); count max; pids=$((n - pids))
${READ_TMP_FREE}
printf '\\n' >&2; ${PRINT_COUNTERS} >&2
exit $status`;

/**
 * Answers each line on its stdin with the container's counters as they stand (one line on
 * stdout), for a CLI that outlives its turns: the counters are read before and after each turn.
 */
const COUNTERS_SCRIPT = `${COUNT_FUNCTION}
while read -r _; do
  count oom_kill; oom=$n; count max; pids=$n
  ${READ_TMP_FREE}
  ${PRINT_COUNTERS}
done`;

/** The argv that runs `command` under the limits report. */
export function withLimitReport(command: readonly string[]): string[] {
  return ['sh', '-c', REPORTING_SCRIPT, 'claude-run', ...command];
}

/** The argv of a process that prints the container's counters for every line it reads. */
export function limitCountersCommand(): string[] {
  return ['sh', '-c', COUNTERS_SCRIPT, 'claude-limits'];
}

/** One line of `limitCountersCommand`'s output, or null when it is not one. */
export function parseLimitCounters(line: string): LimitCounters | null {
  const match = COUNTERS_LINE.exec(line.trim());
  if (!match) return null;
  const [oomKills, pidsMax, tmpFreeKb] = match.slice(1).map(Number);
  return { oomKills, pidsMax, tmpFreeKb };
}

/** The limit hit between two readings of the counters (the free space is the later one's). */
export function limitHitBetween(before: LimitCounters, after: LimitCounters): LimitHit | null {
  return limitHitOf({
    oomKills: after.oomKills - before.oomKills,
    pidsMax: after.pidsMax - before.pidsMax,
    tmpFreeKb: after.tmpFreeKb,
  });
}

/**
 * The limit the report in a run's stderr names, and the stderr without the report. No report
 * (the run was killed): no hit.
 */
export function readLimitReport(stderr: string): { hit: LimitHit | null; stderr: string } {
  // The wrapper's report is the last one: a run can print a look-alike line before it.
  const match = [...stderr.matchAll(REPORT_LINE)].at(-1);
  if (match?.index === undefined) return { hit: null, stderr };
  const [oomKills, pidsMax, tmpFreeKb] = match.slice(1).map(Number);
  const rest = `${stderr.slice(0, match.index)}\n${stderr.slice(match.index + match[0].length)}`;
  return { hit: limitHitOf({ oomKills, pidsMax, tmpFreeKb }), stderr: rest };
}

/** Forks refused first: a fork bomb may also run out of memory. */
function limitHitOf({ oomKills, pidsMax, tmpFreeKb }: LimitCounters): LimitHit | null {
  if (pidsMax > 0) return 'pids';
  if (oomKills > 0) return 'memory';
  if (tmpFreeKb >= 0 && tmpFreeKb < TMP_FULL_BELOW_KB) return 'tmp';
  return null;
}
