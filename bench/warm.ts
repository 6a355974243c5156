/**
 * What warm sessions and spares save, side by side on the same container and fake upstream:
 *   (cold)  a direct dockerode exec of `claude -p --output-format json` (the CLI's full start),
 *   (warm)  a follow-up turn of a session whose CLI is still running, through POST /api/execute,
 *   (spare) a new session's first turn, which takes a spare CLI, through POST /api/execute.
 * Before each round the spares are refilled (not timed), so no start runs behind a sample.
 * Then, with 4 warm sessions and 2 spares in the container, the memory of the service's process
 * (which hosts the bench and the fake upstream too: an upper bound) and of the agent container.
 * Run: npm run bench:warm [-- --rounds 15 --limits cpus=2]
 */
import { PooledRunExecutor } from '../src/agent/pooled-run-executor';
import { RunExecutor } from '../src/agent/run-executor';
import { dockerCli } from '../test/support/docker-cli';
import {
  coldClaudeExec,
  flag,
  nowMs,
  percentile,
  sleep,
  startRig,
  textFlag,
} from './bench-support';

const PROMPT = 'Say hello to the benchmark.';
const SPARES = 2;
const WARM_SESSIONS = 4;

async function timed(run: () => Promise<void>): Promise<number> {
  const start = nowMs();
  await run();
  return nowMs() - start;
}

async function until(what: string, condition: () => boolean): Promise<void> {
  for (let i = 0; i < 600; i += 1) {
    if (condition()) return;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function main(): Promise<void> {
  const rounds = flag('--rounds', 15);
  const limits = textFlag('--limits');
  const rig = await startRig(['dev'], {
    SPARE_PROCESSES: String(SPARES),
    WARM_SESSIONS_PER_ENV: String(WARM_SESSIONS),
    ...(limits ? { AGENT_LIMITS: limits } : {}),
  });
  const { baseUrl, headers } = rig;
  const container = rig.container('dev');
  const runner = rig.app.get<RunExecutor, PooledRunExecutor>(RunExecutor);
  const sparesReady = () => until('the spares', () => runner.readySpares(container) >= SPARES);

  const execute = async (sessionId?: string): Promise<string> => {
    const res = await fetch(`${baseUrl}/api/execute`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ env: 'dev', prompt: PROMPT, ...(sessionId ? { sessionId } : {}) }),
    });
    const body = (await res.json()) as { success: boolean; sessionId: string };
    if (!body.success) throw new Error(`execute failed: ${JSON.stringify(body)}`);
    return body.sessionId;
  };
  const cold = () => coldClaudeExec(rig, container, PROMPT);

  try {
    await sparesReady();
    await cold(); // warm-up: page cache, SDK load
    const session = await execute();
    await execute(session);
    const samples: Record<'cold' | 'warm' | 'spare', number[]> = { cold: [], warm: [], spare: [] };
    let sparesTaken = 0;
    for (let round = 0; round < rounds; round += 1) {
      await sparesReady();
      samples.cold.push(await timed(cold));
      samples.warm.push(await timed(() => execute(session).then(() => undefined)));
      const taken = runner.stats.sparesTaken;
      samples.spare.push(await timed(() => execute().then(() => undefined)));
      sparesTaken += runner.stats.sparesTaken - taken;
    }

    const row = (label: string, values: number[]) =>
      `${label.padEnd(48)} p50 ${percentile(values, 50).toFixed(1).padStart(7)} ms   p90 ${percentile(values, 90).toFixed(1).padStart(7)} ms`;
    const ratio = (values: number[]) => percentile(values, 50) / percentile(samples.cold, 50);
    console.log(
      `${rounds} rounds, interleaved, same container and fake upstream; AGENT_LIMITS ${limits ?? 'defaults'}`,
    );
    console.log(row('(cold)  dockerode exec of claude -p', samples.cold));
    console.log(row('(warm)  follow-up turn on a warm session', samples.warm));
    console.log(
      row(`(spare) new session from a spare (${sparesTaken}/${rounds} took one)`, samples.spare),
    );
    console.log(
      `p50 ratios: warm/cold = ${ratio(samples.warm).toFixed(3)} (target <= 0.10)   spare/cold = ${ratio(samples.spare).toFixed(3)} (target <= 0.35)`,
    );

    // The state to measure: WARM_SESSIONS sessions kept warm (the pool's bound) and the spares.
    await sparesReady();
    await sleep(2000);
    const rssMb = process.memoryUsage().rss / 1024 ** 2;
    const containerMemory = dockerCli(
      'stats',
      '--no-stream',
      '--format',
      '{{.MemUsage}}',
      container,
    ).trim();
    const clis = dockerCli('exec', container, 'ps', '-eo', 'args=')
      .split('\n')
      .filter((line) => /^claude /.test(line)).length;
    console.log(
      `memory with ${runner.warmSessions()} warm sessions and ${runner.readySpares(container)} spares (${clis} CLIs in the container):`,
    );
    console.log(
      `  service process RSS ${rssMb.toFixed(0)} MB (with the bench and the fake upstream)`,
    );
    console.log(`  agent container ${containerMemory} (docker stats)`);
  } finally {
    await rig.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
