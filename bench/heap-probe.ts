/**
 * Preloaded into the service's own process by bench:capacity (`node --expose-gc --require
 * heap-probe.js dist/main.js`). Each SIGURG runs a full GC, then prints
 * `heap-probe n=<count> heap_used_mb=<n> rss_mb=<n>`: after a GC the heap is what the service
 * holds, not what it has yet to collect, so a difference of a few MB between two states is signal.
 * SIGURG because its default is to be ignored (a probe that failed to load changes nothing) and
 * loop-probe already takes SIGWINCH.
 */
const collect = (globalThis as { gc?: () => void }).gc;
let count = 0;

process.on('SIGURG', () => {
  collect?.();
  count += 1;
  const { heapUsed, rss } = process.memoryUsage();
  const mb = (bytes: number) => (bytes / 1024 ** 2).toFixed(2);
  console.log(`heap-probe n=${count} heap_used_mb=${mb(heapUsed)} rss_mb=${mb(rss)}`);
});
