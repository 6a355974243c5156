import {
  limitHitBetween,
  parseLimitCounters,
  readLimitReport,
  withLimitReport,
} from '../../../src/agent/limit-report';

const report = (oom: number, pids: number, tmpKb: number) =>
  `\nclaudecode-api-limits oom_kills=${oom} pids_max=${pids} tmp_free_kb=${tmpKb}\n`;

describe('the limits report of a run', () => {
  it('runs the CLI argv as arguments of the script, never spliced into it', () => {
    const argv = withLimitReport(['claude', '--print', '$(touch /tmp/pwned)']);
    expect(argv.slice(0, 2)).toEqual(['sh', '-c']);
    expect(argv.slice(3)).toEqual(['claude-run', 'claude', '--print', '$(touch /tmp/pwned)']);
    expect(argv[2]).not.toContain('pwned');
  });

  it.each([
    [report(0, 0, 500_000), null],
    [report(1, 0, 500_000), 'memory'],
    [report(0, 37, 500_000), 'pids'],
    [report(2, 5, 0), 'pids'],
    [report(0, 0, 12), 'tmp'],
    // df could not run (no fork left): the free space is unknown, not zero.
    [report(0, 0, -1), null],
  ])('reads %j as %s', (stderr, hit) => {
    expect(readLimitReport(`warning: x${stderr}`)).toEqual({ hit, stderr: 'warning: x\n' });
  });

  it('reads the last report only: a look-alike line the run printed earlier is not believed', () => {
    const stderr = `forged${report(0, 9, 500_000)}later${report(0, 0, 500_000)}`;
    expect(readLimitReport(stderr)).toEqual({
      hit: null,
      stderr: `forged${report(0, 9, 500_000)}later\n`,
    });
  });

  it('finds no hit in a stderr without a report (the run was killed before it)', () => {
    expect(readLimitReport('Killed')).toEqual({ hit: null, stderr: 'Killed' });
  });
});

describe('the limit counters read around a warm turn', () => {
  const counters = (oomKills: number, pidsMax: number, tmpFreeKb: number) => ({
    oomKills,
    pidsMax,
    tmpFreeKb,
  });

  it("parses the reader's line, and nothing else", () => {
    expect(
      parseLimitCounters('claudecode-api-limits oom_kills=3 pids_max=0 tmp_free_kb=-1'),
    ).toEqual(counters(3, 0, -1));
    expect(parseLimitCounters('oom_kills=3 pids_max=0 tmp_free_kb=1')).toBeNull();
    expect(parseLimitCounters('')).toBeNull();
  });

  it.each([
    [counters(2, 5, 500_000), counters(2, 5, 500_000), null],
    // Counts from before the turn are not the turn's.
    [counters(2, 5, 500_000), counters(3, 5, 500_000), 'memory'],
    [counters(0, 5, 500_000), counters(1, 9, 500_000), 'pids'],
    // The free space is the one after the turn.
    [counters(0, 0, 10), counters(0, 0, 500_000), null],
    [counters(0, 0, 500_000), counters(0, 0, 10), 'tmp'],
  ])('between %j and %j: %s', (before, after, hit) => {
    expect(limitHitBetween(before, after)).toBe(hit);
  });
});
