import { AGENT_TMP_DIR } from './agent-layout';

/** Which of its container's limits a run ran into. */
export type LimitHit = 'pids' | 'memory' | 'tmp';

/** Below this much free space, /tmp counts as full. */
const TMP_FULL_BELOW_KB = 1024;
const REPORT_MARKER = 'claudecode-api-limits';
const REPORT_LINE = new RegExp(
  `\\n?${REPORT_MARKER} oom_kills=(-?\\d+) pids_max=(-?\\d+) tmp_free_kb=(-?\\d+)\\n?`,
  'g',
);

/**
 * Runs the CLI (its argv follows) and, once it has ended, prints to stderr how often the
 * container's cgroup OOM-killed a process and refused a fork (pids) meanwhile, and what is left
 * of /tmp. The counters are read with shell builtins only, so they are read even when no process
 * can be forked. The exit status is the CLI's.
 */
const REPORTING_SCRIPT = `cg=/sys/fs/cgroup
count() {
  n=0
  for file in "$cg/memory/memory.oom_control" "$cg/memory.events" "$cg/pids/pids.events" "$cg/pids.events"; do
    [ -r "$file" ] || continue
    while read -r key value; do [ "$key" = "$1" ] && n=$((n + value)); done < "$file"
  done
}
count oom_kill; oom=$n; count max; pids=$n
"$@"; status=$?
count oom_kill; oom=$((n - oom)); count max; pids=$((n - pids))
free=$(df -Pk ${AGENT_TMP_DIR} 2>/dev/null | { read -r _; read -r _ _ _ avail _; echo "$avail"; })
printf '\\n${REPORT_MARKER} oom_kills=%s pids_max=%s tmp_free_kb=%s\\n' "$oom" "$pids" "\${free:--1}" >&2
exit $status`;

/** The argv that runs `command` under the limits report. */
export function withLimitReport(command: readonly string[]): string[] {
  return ['sh', '-c', REPORTING_SCRIPT, 'claude-run', ...command];
}

/**
 * The limit the report in a run's stderr names (forks refused first: a fork bomb may also run
 * out of memory), and the stderr without the report. No report (the run was killed): no hit.
 */
export function readLimitReport(stderr: string): { hit: LimitHit | null; stderr: string } {
  // The wrapper's report is the last one: a run can print a look-alike line before it.
  const match = [...stderr.matchAll(REPORT_LINE)].at(-1);
  if (match?.index === undefined) return { hit: null, stderr };
  const [oomKills, pidsMax, tmpFreeKb] = match.slice(1).map(Number);
  const rest = `${stderr.slice(0, match.index)}\n${stderr.slice(match.index + match[0].length)}`;
  const hit =
    pidsMax > 0
      ? 'pids'
      : oomKills > 0
        ? 'memory'
        : tmpFreeKb >= 0 && tmpFreeKb < TMP_FULL_BELOW_KB
          ? 'tmp'
          : null;
  return { hit, stderr: rest };
}
