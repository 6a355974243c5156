import { Metrics } from '../../src/common/metrics/metrics';
import { seriesValue } from '../support/metrics-text';
import { waitUntil } from '../support/wait';
import { executionsApps } from './executions-app';

// What GET /metrics tells of the runs, from the service's events and the queue itself.
jest.setTimeout(30_000);

describe('run metrics', () => {
  const boot = executionsApps();

  it('counts the runs by outcome, their tokens, cost, duration and wait, and the queue depth', async () => {
    const { app, runner, submit, ended } = await boot({ MAX_CONCURRENT_PER_ENV: '1' });
    const scrape = () => app.get(Metrics).scrape();
    const first = await submit({ prompt: 'first' });
    const second = await submit({ prompt: 'second' });
    const third = await submit({ prompt: 'third' });
    expect(seriesValue(await scrape(), 'claudecode_queue_depth{env="dev"}')).toBe(2);
    (await runner.runOf(first)).succeed('one');
    // The third waits behind the second, which now runs.
    await runner.runOf(second);
    expect(seriesValue(await scrape(), 'claudecode_queue_depth{env="dev"}')).toBe(1);
    expect(seriesValue(await scrape(), 'claudecode_queue_depth{env="staging"}')).toBe(0);
    (await runner.runOf(second)).finish({ end: 'exited', exitCode: 1 });
    (await runner.runOf(third)).succeed('three');
    await ended(third);

    await waitUntil(
      async () =>
        seriesValue(await scrape(), 'claudecode_runs_total{env="dev",status="succeeded"}') === 2,
      'the ends counted',
    );
    const text = await scrape();
    expect(seriesValue(text, 'claudecode_runs_total{env="dev",status="failed"}')).toBe(1);
    // Each success reported 3 input and 5 output tokens, and $0.01.
    expect(seriesValue(text, 'claudecode_run_tokens_total{env="dev",kind="input"}')).toBe(6);
    expect(seriesValue(text, 'claudecode_run_tokens_total{env="dev",kind="output"}')).toBe(10);
    expect(seriesValue(text, 'claudecode_run_cost_usd_total{env="dev"}')).toBeCloseTo(0.02);
    expect(
      seriesValue(text, 'claudecode_run_duration_seconds_count{env="dev",status="succeeded"}'),
    ).toBe(2);
    expect(seriesValue(text, 'claudecode_run_queue_wait_seconds_count{env="dev"}')).toBe(3);
    expect(seriesValue(text, 'claudecode_queue_depth{env="dev"}')).toBe(0);
  });
});
