/**
 * Side-by-side latency of one prompt, on the same container and the same fake upstream:
 *   (a) POST /api/execute through the service (Agent SDK over a dockerode exec),
 *   (b) a direct dockerode exec of `claude -p --output-format json`,
 *   (c) the original plan's way: shelling out to `docker exec`.
 * The three are interleaved round by round, so machine noise hits them alike.
 * Run: npm run bench:execute [-- --rounds 20]
 */
import { execFile } from 'node:child_process';
import { coldClaudeExec, flag, nowMs, percentile, startRig } from './bench-support';

const DOCKER_CLI = '/usr/bin/docker';
const PROMPT = 'Say hello to the benchmark.';

async function timed(run: () => Promise<void>): Promise<number> {
  const start = nowMs();
  await run();
  return nowMs() - start;
}

function dockerExecCli(container: string, env: Record<string, string>): Promise<void> {
  const envArgs = Object.entries(env).flatMap(([key, value]) => ['-e', `${key}=${value}`]);
  return new Promise((resolve, reject) => {
    const child = execFile(
      DOCKER_CLI,
      [
        'exec',
        '-i',
        '-u',
        'node',
        '-w',
        '/workspace',
        ...envArgs,
        container,
        'claude',
        '-p',
        '--output-format',
        'json',
      ],
      (error, stdout) => {
        if (error) return reject(new Error(`docker exec failed: ${error.message}`));
        const result = JSON.parse(stdout) as { is_error: boolean };
        return result.is_error ? reject(new Error(stdout)) : resolve();
      },
    );
    child.stdin?.end(PROMPT);
  });
}

async function main(): Promise<void> {
  const rounds = flag('--rounds', 15);
  const rig = await startRig(['dev']);
  const { baseUrl, headers, agentEnv } = rig;
  const container = rig.container('dev');

  const modes: Record<'a' | 'b' | 'c', () => Promise<void>> = {
    a: async () => {
      const res = await fetch(`${baseUrl}/api/execute`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ env: 'dev', prompt: PROMPT }),
      });
      const body = (await res.json()) as { success: boolean };
      if (!body.success) throw new Error(`execute failed: ${JSON.stringify(body)}`);
    },
    b: () => coldClaudeExec(rig, container, PROMPT),
    c: () => dockerExecCli(container, agentEnv),
  };

  try {
    for (const run of Object.values(modes)) await run(); // warm-up: page cache, SDK load
    const samples: Record<string, number[]> = { a: [], b: [], c: [] };
    for (let round = 0; round < rounds; round += 1) {
      for (const [mode, run] of Object.entries(modes)) samples[mode].push(await timed(run));
    }
    const row = (mode: string, label: string) =>
      `${label.padEnd(44)} p50 ${percentile(samples[mode], 50).toFixed(1).padStart(7)} ms   p90 ${percentile(samples[mode], 90).toFixed(1).padStart(7)} ms`;
    console.log(`claude -p, ${rounds} rounds, interleaved, same container and fake upstream`);
    console.log(row('a', '(a) POST /api/execute'));
    console.log(row('b', '(b) dockerode exec of claude -p'));
    console.log(row('c', '(c) docker exec CLI shell-out (original plan)'));
    for (const p of [50, 90]) {
      const a = percentile(samples.a, p);
      console.log(
        `p${p} ratios: a/b = ${(a / percentile(samples.b, p)).toFixed(3)}   a/c = ${(a / percentile(samples.c, p)).toFixed(3)}`,
      );
    }
  } finally {
    await rig.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
