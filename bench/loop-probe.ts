/**
 * Preloaded into the service's own process by bench:stream (`node --require loop-probe.js
 * dist/main.js`), so the event-loop delay measured is the service's alone. The first SIGWINCH
 * starts a measurement, the next prints `loop-probe p99_ms=<n> max_ms=<n>` and stops it.
 * SIGWINCH because Nest's shutdown hooks take SIGUSR2 (and others), and its default is to be
 * ignored: a probe that failed to load changes nothing.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';

const histogram = monitorEventLoopDelay({ resolution: 10 });
let measuring = false;

process.on('SIGWINCH', () => {
  if (!measuring) {
    histogram.reset();
    histogram.enable();
  } else {
    histogram.disable();
    const ms = (ns: number) => (ns / 1e6).toFixed(2);
    console.log(`loop-probe p99_ms=${ms(histogram.percentile(99))} max_ms=${ms(histogram.max)}`);
  }
  measuring = !measuring;
});
