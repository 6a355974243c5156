/**
 * Streaming latency and load, side by side in one run on the same containers and fake upstream.
 *  1. When the first and the last (result) stream-json line of a prompt reach (a) an SSE client
 *     of GET /api/executions/{id}/events and (b) a direct dockerode exec reader of
 *     `claude -p --output-format stream-json --verbose`, interleaved round by round.
 *  2. The relay's own added latency: for every line of the API's runs, the time from its arrival
 *     on the CLI's stdout (inside the service) to its arrival at the SSE client, matched by uuid.
 *  3. 50 runs submitted at once across three environments: event-loop delay p99 and peak RSS.
 * Run: npm run bench:stream [-- --rounds 15 --burst 50]
 */
import { randomUUID } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { DockerProcess } from '../src/docker/docker-process';
import { SpawnOptions } from '../src/docker/docker.types';
import { readSse } from '../test/support/sse-client';
import { BenchRig, flag, nowMs, percentile, startRig } from './bench-support';

const PROMPT = 'Stream a short answer for the benchmark.';
const ENVS = ['dev', 'staging', 'prod'];

interface Timing {
  first: number;
  last: number;
}

/** Every stdout line of the service's own CLI runs, by uuid, with the time it was read. */
function tapServiceStdout(rig: BenchRig): Map<string, number> {
  const seen = new Map<string, number>();
  const spawn = rig.docker.spawn.bind(rig.docker);
  rig.docker.spawn = (container: string, options: SpawnOptions): DockerProcess => {
    const process = spawn(container, options);
    let pending = '';
    process.stdout.on('data', (chunk: Buffer) => {
      const at = nowMs();
      pending += chunk.toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        const uuid = /"uuid":"([0-9a-f-]{36})"/.exec(line)?.[1];
        if (uuid) seen.set(uuid, at);
      }
    });
    return process;
  };
  return seen;
}

async function viaSse(rig: BenchRig, received: Map<string, number>): Promise<Timing> {
  const start = nowMs();
  const res = await fetch(`${rig.baseUrl}/api/executions`, {
    method: 'POST',
    headers: rig.headers,
    body: JSON.stringify({ env: 'dev', prompt: PROMPT }),
  });
  const { id } = (await res.json()) as { id: string };
  let first = 0;
  let last = 0;
  await readSse(`${rig.baseUrl}/api/executions/${id}/events`, {
    headers: { authorization: rig.headers.authorization },
    stopAfter: (event) => {
      const at = nowMs();
      if (event.event === 'end') return true;
      first ||= at - start;
      const uuid = /"uuid":"([0-9a-f-]{36})"/.exec(event.data)?.[1];
      if (uuid) received.set(uuid, at);
      if (event.event === 'result') last = at - start;
      return false;
    },
  });
  return { first, last };
}

async function viaDirectExec(rig: BenchRig): Promise<Timing> {
  const start = nowMs();
  const process = rig.docker.spawn(rig.container('dev'), {
    cmd: ['claude', '-p', '--output-format', 'stream-json', '--verbose'],
    env: rig.agentEnv,
    user: 'node',
    workdir: '/workspace',
    runId: randomUUID(),
  });
  let first = 0;
  let last = 0;
  let pending = '';
  process.stdout.on('data', (chunk: Buffer) => {
    const at = nowMs() - start;
    pending += chunk.toString('utf8');
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines.filter(Boolean)) {
      first ||= at;
      if ((JSON.parse(line) as { type?: string }).type === 'result') last = at;
    }
  });
  process.stdin.end(PROMPT);
  if ((await process.waitForExit()) !== 0) throw new Error('the direct claude -p run failed');
  return { first, last };
}

async function burst(rig: BenchRig, count: number): Promise<void> {
  const loop = monitorEventLoopDelay({ resolution: 10 });
  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
  loop.enable();
  const start = nowMs();
  const ids = await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const res = await fetch(`${rig.baseUrl}/api/executions`, {
        method: 'POST',
        headers: rig.headers,
        body: JSON.stringify({ env: ENVS[i % ENVS.length], prompt: `burst ${i}` }),
      });
      if (res.status !== 202) throw new Error(`submit ${i}: ${res.status} ${await res.text()}`);
      return ((await res.json()) as { id: string }).id;
    }),
  );
  // Every run is followed by a live SSE client, as browsers would.
  const streams = await Promise.all(
    ids.map((id) =>
      readSse(`${rig.baseUrl}/api/executions/${id}/events`, {
        headers: { authorization: rig.headers.authorization },
      }),
    ),
  );
  loop.disable();
  clearInterval(sampler);
  const failed = streams.filter(
    (stream) => !(stream.events.at(-1)?.data ?? '').includes('"status":"succeeded"'),
  ).length;
  console.log(
    `burst: ${count} runs over ${ENVS.length} environments in ${((nowMs() - start) / 1000).toFixed(1)} s, ${failed} not succeeded; ` +
      `event-loop delay p99 ${(loop.percentile(99) / 1e6).toFixed(1)} ms (max ${(loop.max / 1e6).toFixed(1)} ms); ` +
      `peak RSS ${(peakRss / 1024 / 1024).toFixed(0)} MB`,
  );
}

async function main(): Promise<void> {
  const rounds = flag('--rounds', 15);
  const burstSize = flag('--burst', 50);
  const rig = await startRig(ENVS, { MAX_QUEUE_PER_ENV: String(burstSize) });
  try {
    const readOnStdout = tapServiceStdout(rig);
    const receivedBySse = new Map<string, number>();
    await viaSse(rig, receivedBySse);
    await viaDirectExec(rig);
    const sse: Timing[] = [];
    const direct: Timing[] = [];
    for (let round = 0; round < rounds; round += 1) {
      sse.push(await viaSse(rig, receivedBySse));
      direct.push(await viaDirectExec(rig));
    }
    const row = (label: string, samples: Timing[]) =>
      `${label.padEnd(40)} first p50 ${percentile(
        samples.map((s) => s.first),
        50,
      )
        .toFixed(1)
        .padStart(7)} ms   ` +
      `last p50 ${percentile(
        samples.map((s) => s.last),
        50,
      )
        .toFixed(1)
        .padStart(7)} ms`;
    console.log(
      `stream-json lines, ${rounds} rounds, interleaved, same container and fake upstream`,
    );
    console.log(row('(a) SSE client of the API', sse));
    console.log(row('(b) direct dockerode exec reader', direct));
    for (const edge of ['first', 'last'] as const) {
      const added =
        percentile(
          sse.map((s) => s[edge]),
          50,
        ) -
        percentile(
          direct.map((s) => s[edge]),
          50,
        );
      console.log(
        `${edge} line: a - b at p50 = ${added.toFixed(1)} ms (includes the queue, the SDK start and process noise)`,
      );
    }
    const relay = [...receivedBySse].flatMap(([uuid, at]) => {
      const read = readOnStdout.get(uuid);
      return read === undefined ? [] : [at - read];
    });
    console.log(
      `relay, stdout line -> SSE client, ${relay.length} lines: p50 ${percentile(relay, 50).toFixed(2)} ms, ` +
        `p99 ${percentile(relay, 99).toFixed(2)} ms`,
    );
    await burst(rig, burstSize);
  } finally {
    await rig.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
