/**
 * Capacity, measured on this machine: the real Claude Code CLI in the real agent container, the
 * built service in its own process, the fake upstream answering at once (so a turn costs only
 * the CLI's own CPU, the service's and Docker's).
 *  1. Agent memory per CLI: 1, 2, 4 and 8 warm sessions' CLIs in one container, each parked
 *     (idle) and then mid-turn (the fake holds its reply), from the container's memory cgroup
 *     (usage_in_bytes, what the limit counts, and its anon part, total_rss, which nothing can
 *     reclaim with swap off) and each CLI's PSS and RSS (smaps_rollup, read inside the container).
 *     The cost per CLI is the least-squares slope over those four points, not one CLI's size.
 *  2. The service's own memory (heap after a full GC, and RSS; heap-probe.js) per running run,
 *     over the same mid-turn states, and per open event stream (streams opened on the 8 held
 *     runs). Its CPU per run is in 3.
 *  3. Turns per host: c = 1, 2, 4, 8 clients at once, each on its own session, for warm turns
 *     (POST /api/execute on a warm session), the same as background runs each followed by an SSE
 *     client, and cold turns (a CLI of its own, started and ended with the turn): p50 and p90,
 *     p50 against c = 1, turns per second, the cores they got, and CPU per turn of the CLIs (the
 *     container's cpuacct), of the service and of Docker (the container's shim; dockerd and
 *     containerd), and the container's peak memory. On a shared host the latencies move with the
 *     neighbours' load (printed); the CPU per turn does not.
 * The container gets `memory=6g,cpus=2,pids=2048`: the host's two CPUs and room for 8 warm CLIs
 * with 8 cold ones beside them.
 * Run: npm run bench:capacity [-- --warm-turns 32 --cold-turns 12]
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { dockerCli } from '../test/support/docker-cli';
import { FakeAnthropic, startFakeAnthropic } from '../test/support/fake-anthropic';
import { readSse } from '../test/support/sse-client';
import {
  BenchService,
  cpuMs,
  flag,
  nowMs,
  percentile,
  sleep,
  startBenchService,
} from './bench-support';

const ENV = 'cap';
const LEVELS = [1, 2, 4, 8];
const MAX_CLIS = Math.max(...LEVELS);
const STREAMS_PER_HELD_RUN = 2;
const PROMPT = 'Say hello to the capacity benchmark.';
const MIB = 1024 ** 2;
const LIMITS = 'memory=6g,cpus=2,pids=2048';

/** The cgroup v1 directories of a container, as dockerd (cgroupfs driver) names them. */
interface Cgroup {
  memory: string;
  cpuacct: string;
}

interface AgentMemory {
  usageMib: number;
  anonMib: number;
  clis: number;
  pssMib: number;
  rssMib: number;
}

interface ServiceMemory {
  heapMb: number;
  rssMb: number;
}

interface Cpu {
  cliMs: number;
  serviceMs: number;
  /**
   * The container's shim, its own CPU only: its reaped children are the runc calls but also every
   * exec'd process, so a cold turn's CLI would count twice.
   */
  shimMs: number;
  /** dockerd and containerd: shared with anything else the host runs. */
  daemonsMs: number;
}

type TurnKind = 'warm' | 'stream' | 'cold';

const readNumber = (path: string): number => Number(readFileSync(path, 'utf8').trim());

function cgroupOf(containerId: string): Cgroup {
  const memory = `/sys/fs/cgroup/memory/docker/${containerId}`;
  const cpuacct = `/sys/fs/cgroup/cpuacct/docker/${containerId}`;
  readNumber(join(memory, 'memory.usage_in_bytes')); // fails loudly on another cgroup layout
  readNumber(join(cpuacct, 'cpuacct.usage'));
  return { memory, cpuacct };
}

/** Each Claude CLI's `Rss Pss` in kB, one line each: argv[0] is `claude` or ends in `/claude`. */
const SMAPS_SCRIPT = `for d in /proc/[0-9]*; do
  set -- $(tr '\\0' ' ' < "$d/cmdline" 2>/dev/null)
  case "$1" in claude|*/claude) ;; *) continue ;; esac
  awk '/^Rss:/ {r = $2} /^Pss:/ {p = $2} END {print r, p}' "$d/smaps_rollup" 2>/dev/null
done`;

function agentMemory(container: string, cgroup: Cgroup): AgentMemory {
  const stat = Object.fromEntries(
    readFileSync(join(cgroup.memory, 'memory.stat'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split(' '))
      .map(([key, value]) => [key, Number(value)]),
  );
  const clis = dockerCli('exec', container, 'sh', '-c', SMAPS_SCRIPT)
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split(' ').map(Number));
  return {
    usageMib: readNumber(join(cgroup.memory, 'memory.usage_in_bytes')) / MIB,
    anonMib: stat.total_rss / MIB,
    clis: clis.length,
    rssMib: clis.reduce((sum, [rss]) => sum + rss, 0) / 1024,
    pssMib: clis.reduce((sum, [, pss]) => sum + pss, 0) / 1024,
  };
}

/** Docker's side of the host: dockerd, its containerd, and the container's shim. */
function dockerPids(containerId: string): { daemons: number[]; shim: number } {
  const daemons = ['/var/run/docker.pid', '/var/run/docker/containerd/containerd.pid'].map(
    readNumber,
  );
  const shim = readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .find((pid) => {
      try {
        const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
        return args[0].includes('containerd-shim') && args.includes(containerId);
      } catch {
        return false;
      }
    });
  if (!shim) throw new Error(`no containerd shim found for ${containerId}`);
  return { daemons, shim: Number(shim) };
}

function cpuNow(cgroup: Cgroup, servicePid: number, docker: ReturnType<typeof dockerPids>): Cpu {
  return {
    cliMs: readNumber(join(cgroup.cpuacct, 'cpuacct.usage')) / 1e6,
    serviceMs: cpuMs(servicePid),
    shimMs: cpuMs(docker.shim),
    daemonsMs: docker.daemons.reduce((sum, pid) => sum + cpuMs(pid), 0),
  };
}

/** The service's heap after a full GC and its RSS, from heap-probe.js inside it. */
async function serviceMemory(bench: BenchService): Promise<ServiceMemory> {
  const count = (bench.service.output().match(/heap-probe n=/g) ?? []).length;
  process.kill(bench.service.pid, 'SIGURG');
  for (let i = 0; i < 50; i += 1) {
    const lines = [
      ...bench.service
        .output()
        .matchAll(/heap-probe n=(\d+) heap_used_mb=([\d.]+) rss_mb=([\d.]+)/g),
    ];
    const last = lines.at(-1);
    if (last && Number(last[1]) > count) return { heapMb: Number(last[2]), rssMb: Number(last[3]) };
    await sleep(100);
  }
  throw new Error(`the service printed no heap-probe line:\n${bench.service.output()}`);
}

async function until(what: string, condition: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 1200; i += 1) {
    if (await condition()) return;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Least squares: the cost per unit (slope) and the fixed part (intercept). */
function fit(points: [number, number][]): { slope: number; intercept: number } {
  const n = points.length;
  const mx = points.reduce((sum, [x]) => sum + x, 0) / n;
  const my = points.reduce((sum, [, y]) => sum + y, 0) / n;
  const sxy = points.reduce((sum, [x, y]) => sum + (x - mx) * (y - my), 0);
  const sxx = points.reduce((sum, [x]) => sum + (x - mx) ** 2, 0);
  const slope = sxy / sxx;
  return { slope, intercept: my - slope * mx };
}

class CapacityBench {
  private readonly sessions: string[] = [];

  constructor(
    private readonly fake: FakeAnthropic,
    private readonly bench: BenchService,
    private readonly container: string,
    private readonly cgroup: Cgroup,
    private readonly docker: ReturnType<typeof dockerPids>,
    private readonly metricsToken: string,
  ) {}

  static async start(fake: FakeAnthropic): Promise<CapacityBench> {
    const metricsToken = randomBytes(24).toString('hex');
    const bench = await startBenchService(
      fake.url,
      [ENV],
      {
        AGENT_LIMITS: LIMITS,
        WARM_SESSIONS_PER_ENV: String(MAX_CLIS),
        WARM_SESSIONS_TOTAL: String(MAX_CLIS),
        SPARE_PROCESSES: '0',
        MAX_CONCURRENT_PER_ENV: String(MAX_CLIS),
        MAX_QUEUE_PER_ENV: '64',
        SSE_MAX_STREAMS_PER_TOKEN: '64',
        METRICS_TOKEN: metricsToken,
        LOG_LEVEL: 'warn',
      },
      ['--expose-gc', '--require', join(__dirname, 'heap-probe.js')],
    );
    try {
      const res = await fetch(`${bench.service.baseUrl}/api/containers/${ENV}/start`, {
        method: 'POST',
        headers: bench.auth,
      });
      if (!res.ok) throw new Error(`could not start ${ENV}: ${await res.text()}`);
      const container = `${bench.prefix}${ENV}`;
      const id = dockerCli('inspect', '--format', '{{.Id}}', container).trim();
      return new CapacityBench(fake, bench, container, cgroupOf(id), dockerPids(id), metricsToken);
    } catch (error) {
      await bench.close();
      throw error;
    }
  }

  close(): Promise<void> {
    return this.bench.close();
  }

  describeHost(): string {
    const cli = dockerCli('exec', this.container, 'claude', '--version').trim();
    const engine = dockerCli('version', '--format', '{{.Server.Version}}').trim();
    return (
      `${new Date().toISOString()}, ${cpus().length} x ${cpus()[0].model}, ` +
      `${(totalmem() / 1024 ** 3).toFixed(1)} GiB, Linux ${release()}, Docker ${engine}, ` +
      `cgroup v1; Claude Code ${cli}; agent container ${LIMITS}; load average ${loadavg()
        .map((load) => load.toFixed(1))
        .join(' ')}`
    );
  }

  // ------------------------------------------------------------------ the service's API

  private async post(path: string, body: object): Promise<Response> {
    return fetch(`${this.bench.service.baseUrl}${path}`, {
      method: 'POST',
      headers: { ...this.bench.auth, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  }

  private async execute(body: object): Promise<string> {
    const res = await this.post('/api/execute', { env: ENV, prompt: PROMPT, ...body });
    const result = (await res.json()) as { success: boolean; sessionId: string };
    if (!result.success) throw new Error(`execute failed: ${JSON.stringify(result)}`);
    return result.sessionId;
  }

  private async submit(sessionId: string): Promise<string> {
    const res = await this.post('/api/executions', { env: ENV, prompt: PROMPT, sessionId });
    if (res.status !== 202) throw new Error(`submit: ${res.status} ${await res.text()}`);
    return ((await res.json()) as { id: string }).id;
  }

  private async succeeded(id: string): Promise<void> {
    let status = 'queued';
    await until(`run ${id}`, async () => {
      const res = await fetch(`${this.bench.service.baseUrl}/api/executions/${id}`, {
        headers: this.bench.auth,
      });
      status = ((await res.json()) as { status: string }).status;
      return status !== 'queued' && status !== 'running';
    });
    if (status !== 'succeeded') throw new Error(`run ${id} ended ${status}`);
  }

  private async follow(id: string): Promise<void> {
    const stream = await readSse(`${this.bench.service.baseUrl}/api/executions/${id}/events`, {
      headers: this.bench.auth,
    });
    const end = stream.events.at(-1);
    if (end?.event !== 'end' || !end.data.includes('"status":"succeeded"')) {
      throw new Error(`run ${id}'s stream ended with ${JSON.stringify(end)}`);
    }
  }

  private async gauge(name: string): Promise<number> {
    const res = await fetch(`${this.bench.service.baseUrl}/metrics`, {
      headers: { authorization: `Bearer ${this.metricsToken}` },
    });
    const line = new RegExp(`^claudecode_${name}(\\{[^}]*\\})? (\\S+)$`, 'm').exec(
      await res.text(),
    );
    return Number(line?.[2] ?? NaN);
  }

  // ------------------------------------------------------------------ 1 and 2: memory

  async memory(): Promise<void> {
    const rows: {
      n: number;
      idle: AgentMemory;
      busy: AgentMemory;
      serviceIdle: ServiceMemory;
      serviceBusy: ServiceMemory;
    }[] = [];
    let withStreams: ServiceMemory | undefined;
    let streamsOpened = 0;
    for (const n of LEVELS) {
      while (this.sessions.length < n) this.sessions.push(await this.execute({}));
      await until(`${n} warm sessions`, async () => (await this.gauge('warm_sessions')) === n);
      await sleep(2000);
      const idle = agentMemory(this.container, this.cgroup);
      const serviceIdle = await serviceMemory(this.bench);

      const releases = this.sessions.map(() => this.fake.replyHeld('held for the benchmark'));
      const asked = this.fake.mainRequests.length;
      const ids = await Promise.all(this.sessions.map((session) => this.submit(session)));
      await until(`${n} held turns`, () => this.fake.mainRequests.length >= asked + n);
      await sleep(1500);
      const busy = agentMemory(this.container, this.cgroup);
      const serviceBusy = await serviceMemory(this.bench);
      rows.push({ n, idle, busy, serviceIdle, serviceBusy });

      let streams: Promise<void>[] = [];
      if (n === MAX_CLIS) {
        streams = ids.flatMap((id) =>
          Array.from({ length: STREAMS_PER_HELD_RUN }, () => this.follow(id)),
        );
        streamsOpened = streams.length;
        await until(
          'the streams',
          async () => (await this.gauge('open_streams')) === streamsOpened,
        );
        await sleep(1000);
        withStreams = await serviceMemory(this.bench);
      }
      for (const release of releases) release();
      await Promise.all([...ids.map((id) => this.succeeded(id)), ...streams]);
    }

    const mib = (value: number) => value.toFixed(0).padStart(7);
    console.log(
      '\n1. Agent memory by CLIs in one container (cgroup v1 usage_in_bytes and total_rss; PSS and RSS summed over the CLIs)',
    );
    console.log('CLIs  state       usage MiB  anon MiB  PSS MiB  RSS MiB  PSS/CLI  RSS/CLI');
    for (const { n, idle, busy } of rows) {
      for (const [state, m] of [
        ['idle warm', idle],
        ['mid-turn', busy],
      ] as const) {
        if (m.clis !== n) throw new Error(`${m.clis} CLIs in the container, expected ${n}`);
        console.log(
          `${String(n).padStart(4)}  ${state.padEnd(10)} ${mib(m.usageMib)}   ${mib(m.anonMib)}  ${mib(m.pssMib)}  ${mib(m.rssMib)}  ${mib(m.pssMib / n)}  ${mib(m.rssMib / n)}`,
        );
      }
    }
    const slopes: Record<string, number> = {};
    for (const state of ['idle', 'busy'] as const) {
      for (const metric of ['usageMib', 'anonMib', 'pssMib'] as const) {
        const { slope, intercept } = fit(rows.map((row) => [row.n, row[state][metric]]));
        slopes[`${state}.${metric}`] = slope;
        console.log(
          `slope ${state === 'idle' ? 'idle warm' : 'mid-turn '} ${metric.replace('Mib', '').padEnd(5)} ` +
            `${slope.toFixed(1).padStart(6)} MiB per CLI (+ ${intercept.toFixed(0)} MiB fixed)`,
        );
      }
    }
    const perGib = (slope: number) => (1024 / slope).toFixed(1);
    console.log(
      `CLIs per GiB of agent memory: ${perGib(slopes['idle.usageMib'])} idle warm, ` +
        `${perGib(slopes['busy.usageMib'])} mid-turn (cgroup usage slope); ` +
        `${perGib(slopes['busy.anonMib'])} mid-turn by anon only`,
    );

    const kb = (mb: number) => `${(mb * 1024).toFixed(0)} kB`;
    console.log(
      '\n2. The service process (heap after a full GC, and RSS, in MB: idle / with every session mid-turn)',
    );
    console.log(
      rows
        .map(
          ({ n, serviceIdle, serviceBusy }) =>
            `${n} sessions: heap ${serviceIdle.heapMb.toFixed(1)} / ${serviceBusy.heapMb.toFixed(1)}, ` +
            `RSS ${serviceIdle.rssMb.toFixed(0)} / ${serviceBusy.rssMb.toFixed(0)}`,
        )
        .join('; '),
    );
    const perSession = fit(rows.map((row) => [row.n, row.serviceIdle.heapMb])).slope;
    const perRun = fit(rows.map((row) => [row.n, row.serviceBusy.heapMb - row.serviceIdle.heapMb]));
    console.log(
      `heap per warm session ${kb(perSession)}, per running run ${kb(perRun.slope)} (slopes over 1-8; RSS moves with the GC's whims, not per run)`,
    );
    if (withStreams) {
      const last = rows[rows.length - 1].serviceBusy;
      console.log(
        `per open event stream (${streamsOpened} on ${MAX_CLIS} held runs): heap ` +
          `${kb((withStreams.heapMb - last.heapMb) / streamsOpened)}`,
      );
    }
  }

  // ------------------------------------------------------------------ 3: turns per host

  private turn(kind: TurnKind, client: number): Promise<unknown> {
    switch (kind) {
      case 'warm':
        return this.execute({ sessionId: this.sessions[client] });
      case 'stream':
        return this.submit(this.sessions[client]).then((id) => this.follow(id));
      case 'cold':
        // A run with a budget gets a CLI of its own, ended with its turn (see needsOwnCli).
        return this.execute({ maxBudgetUsd: 1000 });
    }
  }

  async turns(warmTurns: number, coldTurns: number): Promise<void> {
    for (const kind of ['warm', 'stream', 'cold'] as const) await this.turn(kind, 0);
    const idleFrom = cpuNow(this.cgroup, this.bench.service.pid, this.docker);
    await sleep(5000);
    const background =
      (cpuNow(this.cgroup, this.bench.service.pid, this.docker).daemonsMs - idleFrom.daemonsMs) / 5;
    const labels: Record<TurnKind, string> = {
      warm: 'warm turn, POST /api/execute',
      stream: 'warm turn, background run + SSE client',
      cold: 'cold turn, a CLI started for it',
    };
    console.log(
      '\n3. Turns at once, each client on its own session; the fake answers at once (CPU per turn in ms)',
    );
    console.log(
      'kind    c  turns   p50 ms   p90 ms  p50/c1  turns/s  cores  CLI CPU  API CPU  shim CPU  daemons CPU  peak MiB',
    );
    for (const kind of ['warm', 'stream', 'cold'] as const) {
      let base = 0;
      for (const c of LEVELS) {
        const rounds = Math.ceil((kind === 'cold' ? coldTurns : warmTurns) / c);
        writeFileSync(join(this.cgroup.memory, 'memory.max_usage_in_bytes'), '0');
        const before = cpuNow(this.cgroup, this.bench.service.pid, this.docker);
        const start = nowMs();
        const samples = (
          await Promise.all(
            Array.from({ length: c }, async (_, client) => {
              const times: number[] = [];
              for (let round = 0; round < rounds; round += 1) {
                const at = nowMs();
                await this.turn(kind, client);
                times.push(nowMs() - at);
              }
              return times;
            }),
          )
        ).flat();
        const seconds = (nowMs() - start) / 1000;
        const after = cpuNow(this.cgroup, this.bench.service.pid, this.docker);
        const peak = readNumber(join(this.cgroup.memory, 'memory.max_usage_in_bytes')) / MIB;
        const p50 = percentile(samples, 50);
        base ||= p50;
        // What the CLIs and the service got of the host's CPUs over the level.
        const cores =
          (after.cliMs - before.cliMs + after.serviceMs - before.serviceMs) / 1000 / seconds;
        const per = (key: keyof Cpu) => ((after[key] - before[key]) / samples.length).toFixed(0);
        console.log(
          `${kind.padEnd(6)} ${String(c).padStart(2)}  ${String(samples.length).padStart(5)}  ` +
            `${p50.toFixed(0).padStart(7)}  ${percentile(samples, 90).toFixed(0).padStart(7)}  ` +
            `${(p50 / base).toFixed(2).padStart(6)}  ${(samples.length / seconds).toFixed(2).padStart(7)}  ` +
            `${cores.toFixed(2).padStart(5)}  ` +
            `${per('cliMs').padStart(7)}  ${per('serviceMs').padStart(7)}  ${per('shimMs').padStart(8)}  ` +
            `${per('daemonsMs').padStart(11)}  ${peak.toFixed(0).padStart(8)}`,
        );
      }
    }
    console.log(
      Object.entries(labels)
        .map(([kind, label]) => `${kind}: ${label}`)
        .join('; '),
    );
    console.log(
      'cores: CPU seconds of the CLIs and the service per second; CLI CPU: the container cgroup ' +
        "(cpuacct.usage, the runc init of each exec too); API CPU: the service process; shim CPU: the container's " +
        'containerd shim (not the runc calls it waits for); daemons CPU: dockerd and containerd, shared with the ' +
        `host's other work (idle here: ${background.toFixed(0)} ms/s, not subtracted)`,
    );
  }
}

async function main(): Promise<void> {
  const warmTurns = flag('--warm-turns', 32);
  const coldTurns = flag('--cold-turns', 12);
  const fake = await startFakeAnthropic();
  try {
    const capacity = await CapacityBench.start(fake);
    try {
      console.log(`capacity: ${capacity.describeHost()}`);
      await capacity.memory();
      await capacity.turns(warmTurns, coldTurns);
      console.log(
        `load average at the end: ${loadavg()
          .map((load) => load.toFixed(1))
          .join(' ')}`,
      );
    } finally {
      await capacity.close();
    }
  } finally {
    await fake.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
