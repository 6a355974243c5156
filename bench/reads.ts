/**
 * The read paths under load, each beside its reference, in one run against the built service as
 * its own process (`node dist/main.js`), so its RSS is read from /proc and the load generator's
 * CPU is not counted with it. Autocannon, 20 connections, to 127.0.0.1 and the Docker socket only.
 *  1. GET /api/containers/{env} of a running container vs a raw Docker inspect of it, interleaved
 *     round by round.
 *  2. Sessions: one real transcript (a prompt through the service and the fake upstream), copied
 *     in the container to N sessions; the first listing (indexing), every page once indexed, and
 *     the first listing after a restart of the service on the same DATA_DIR.
 *  3. The pipeline: /health beside authenticated routes that touch no Docker (a 404, the status
 *     from kept state), a 401 and a 429 (from a second process with a token limit of 1), each
 *     >= 0.5x; a 400 with a body and the history list are reported beside them, with no target
 *     (they parse, validate and query on top of the pipeline). Interleaved round by round.
 *  4. The service's peak VmRSS, sampled every 200 ms throughout.
 * Run order is 1, 3, 2 (the sessions restart the service). Ends with measured, target, pass/fail.
 * Every container, volume and temp folder it made is removed at the end, even after a failure.
 * Bounded: a listing gets 900 s at most (a page 300 s), the paging --page-budget seconds.
 * Run: npm run bench:reads [-- --sessions 2000 --duration 5 --rounds 3 --page-budget 600]
 * (`--sessions 0` leaves the sessions part out.)
 */
import autocannon from 'autocannon';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DOCKER_CLI, removeDockerObjects } from '../test/support/docker-cli';
import { startFakeAnthropic } from '../test/support/fake-anthropic';
import {
  cpuMs,
  flag,
  freePort,
  nowMs,
  percentile,
  sampleRss,
  ServiceChild,
  spawnService,
} from './bench-support';

const SESSIONS = flag('--sessions', 10_000);
const DURATION_S = flag('--duration', 5);
const ROUNDS = flag('--rounds', 3);
/** Seconds for paging through every session once indexed; the rest is reported as not reached. */
const PAGE_BUDGET_S = flag('--page-budget', 600);
const PAGE_SIZE = 20;
const ENV = 'bench';
const DOCKER_SOCKET = '/var/run/docker.sock';
const TRANSCRIPT_DIR = '/home/node/.claude/projects/-workspace';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const NO_LIMIT = '1000000000';

interface Row {
  line: string;
  value: string;
  target: string;
  pass: boolean | null;
}
const rows: Row[] = [];

interface Load {
  rps: number;
  p99: number;
  /** NaN when the server is not ours (Docker). */
  cpuUsPerRequest: number;
  /** Responses per status code, e.g. "404:18204". */
  codes: string;
  errors: number;
}

/** One second of load, not recorded, so the first measured run does not pay for the JIT. */
async function warmUp(options: autocannon.Options): Promise<void> {
  await autocannon({ connections: 20, duration: 1, timeout: 30, ...options });
}

/** A load run; with `pid`, also the CPU the service used per request. */
async function load(options: autocannon.Options, pid?: number): Promise<Load> {
  const cpuBefore = pid === undefined ? 0 : cpuMs(pid);
  const result = await autocannon({
    connections: 20,
    duration: DURATION_S,
    timeout: 30,
    ...options,
  });
  const cpu = pid === undefined ? NaN : cpuMs(pid) - cpuBefore;
  const stats = (result as { statusCodeStats?: Record<string, { count: number }> }).statusCodeStats;
  return {
    rps: result.requests.average,
    p99: result.latency.p99,
    cpuUsPerRequest: (cpu * 1000) / result.requests.total,
    codes: Object.entries(stats ?? {})
      .map(([code, { count }]) => `${code}:${count}`)
      .join(' '),
    errors: result.errors,
  };
}

const fixed = (value: number, digits = 0): string =>
  value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

const formatLoad = (name: string, run: Load): string =>
  `${name.padEnd(36)} ${fixed(run.rps).padStart(7)} req/s   p99 ${String(run.p99).padStart(4)} ms   ` +
  `${Number.isNaN(run.cpuUsPerRequest) ? '' : `cpu ${fixed(run.cpuUsPerRequest)} us/req   `}` +
  `[${run.codes}${run.errors ? ` errors:${run.errors}` : ''}]`;

interface Timed {
  ms: number;
  /** 0 when no answer came. */
  status: number;
  body: unknown;
  error?: string;
}

/**
 * A timed request with a deadline of its own; never throws. Over node:http, since fetch gives
 * up on a response whose headers take more than 300 s.
 */
function timedRequest(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string },
  timeoutMs: number,
): Promise<Timed> {
  const start = nowMs();
  return new Promise((resolve) => {
    const done = (status: number, text: string, error?: string): void => {
      clearTimeout(deadline);
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // Kept as text.
      }
      resolve({ ms: nowMs() - start, status, body, error });
    };
    const req = request(url, { method: init.method ?? 'GET', headers: init.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => done(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8')));
      res.on('error', (error) => done(0, '', String(error)));
    });
    const deadline = setTimeout(
      () => req.destroy(new Error(`no answer in ${timeoutMs / 1000} s`)),
      timeoutMs,
    );
    req.on('error', (error) => done(0, '', String(error)));
    req.end(init.body);
  });
}

function dockerExec(args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      DOCKER_CLI,
      args,
      { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) =>
        error ? reject(new Error(`${error.message} ${stderr}`)) : resolve(stdout),
    );
  });
}

/** What one run made (names, temp folder, service processes), so that it can all be removed. */
class Bench {
  readonly prefix = `cca-bench-${randomBytes(3).toString('hex')}-`;
  readonly root = mkdtempSync(join(tmpdir(), this.prefix));
  readonly token = randomBytes(24).toString('hex');
  readonly auth = { authorization: `Bearer ${this.token}` };
  readonly container = `${this.prefix}${ENV}`;
  readonly children = new Set<ServiceChild>();
  service: ServiceChild | undefined;

  constructor(
    readonly fakeUrl: string,
    readonly port: number,
  ) {}

  /** Starts (or restarts) the service under test on the same port and DATA_DIR. */
  async startMain(): Promise<ServiceChild> {
    this.service = await this.spawn(this.port, 'main', {});
    return this.service;
  }

  /** A service process with the bench's token, prefixes, fake upstream and no rate limits. */
  async spawn(
    port: number,
    dataDir: string,
    settings: Record<string, string>,
  ): Promise<ServiceChild> {
    mkdirSync(join(this.root, dataDir), { recursive: true });
    const child = await spawnService(
      {
        API_TOKEN: this.token,
        CONTAINER_PREFIX: this.prefix,
        VOLUME_PREFIX: this.prefix,
        AGENT_NETWORK: 'host',
        ENVIRONMENTS: ENV,
        DATA_DIR: join(this.root, dataDir),
        DOCS_ENABLED: 'false',
        THROTTLE_IP_LIMIT: NO_LIMIT,
        THROTTLE_TOKEN_LIMIT: NO_LIMIT,
        THROTTLE_CLAUDE_LIMIT: NO_LIMIT,
        AGENT_ENV_ANTHROPIC_BASE_URL: this.fakeUrl,
        AGENT_ENV_ANTHROPIC_API_KEY: 'sk-ant-bench',
        ...settings,
      },
      port,
    );
    this.children.add(child);
    return child;
  }

  async stop(child: ServiceChild): Promise<void> {
    await child.stop();
    this.children.delete(child);
  }

  async cleanUp(): Promise<void> {
    for (const child of this.children) await child.stop();
    rmSync(this.root, { recursive: true, force: true });
    removeDockerObjects(this.prefix);
  }
}

interface LoadCase {
  name: string;
  /** The service's pid, to count its CPU; none for Docker. */
  pid?: number;
  options: autocannon.Options;
  /** Printed beside /health with no target: the issue's 0.5x bar is for the pipeline's own cost. */
  reportedOnly?: boolean;
}

/**
 * Each case warmed up, then loaded once per round, round after round, so that a slow spell of
 * the machine (or of the service settling after its start) weighs on every case alike; the
 * median of each case's rounds.
 */
async function interleavedMedians(cases: LoadCase[]): Promise<{ name: string; load: Load }[]> {
  const runs = cases.map((): Load[] => []);
  for (const { options } of cases) await warmUp(options);
  for (let round = 0; round < ROUNDS; round += 1) {
    for (const [index, { pid, options }] of cases.entries())
      runs[index].push(await load(options, pid));
  }
  return cases.map(({ name }, index) => {
    const all = runs[index];
    const middle = (value: (run: Load) => number) => percentile(all.map(value), 50);
    return {
      name,
      load: {
        rps: middle((run) => run.rps),
        p99: middle((run) => run.p99),
        cpuUsPerRequest: middle((run) => run.cpuUsPerRequest),
        codes: all.map((run) => run.codes).join(' | '),
        errors: all.reduce((sum, run) => sum + run.errors, 0),
      },
    };
  });
}

async function statusVsInspect(bench: Bench, service: ServiceChild): Promise<void> {
  console.log(
    `\n== 1. GET /api/containers/${ENV} (running) vs raw Docker inspect (${ROUNDS} interleaved rounds of ${DURATION_S} s; median of each)`,
  );
  const started = await timedRequest(
    `${service.baseUrl}/api/containers/${ENV}/start`,
    { method: 'POST', headers: bench.auth },
    180_000,
  );
  if (started.status !== 200) {
    throw new Error(`could not start ${ENV}: ${started.status} ${JSON.stringify(started.body)}`);
  }
  const routeOptions = { url: `${service.baseUrl}/api/containers/${ENV}`, headers: bench.auth };
  const rawOptions = {
    url: `http://localhost/containers/${bench.container}/json`,
    socketPath: DOCKER_SOCKET,
  };
  const medians = await interleavedMedians([
    { name: `GET /api/containers/${ENV}`, pid: service.pid, options: routeOptions },
    { name: 'GET /containers/<name>/json (socket)', options: rawOptions },
  ]);
  const [route, raw] = medians.map(({ load }) => load);
  const ratio = route.rps / raw.rps;
  for (const { name, load } of medians) console.log(formatLoad(name, load));
  console.log(`ratio route/raw: ${ratio.toFixed(2)}x`);
  const ok = route.codes.split(' | ').every((round) => /^200:\d+$/.test(round));
  rows.push(
    {
      line: 'status route req/s',
      value: fixed(route.rps),
      target: '>= 5,000',
      pass: ok && route.rps >= 5000,
    },
    {
      line: 'status route p99',
      value: `${route.p99} ms`,
      target: '< 20 ms',
      pass: ok && route.p99 < 20,
    },
    {
      line: 'status route / raw inspect',
      value: `${ratio.toFixed(2)}x`,
      target: '>= 1.0x',
      pass: ok && ratio >= 1,
    },
  );
}

async function pipeline(bench: Bench, service: ServiceChild): Promise<void> {
  console.log(`\n== 3. Pipeline (${ROUNDS} interleaved rounds of ${DURATION_S} s; median of each)`);
  const throttled = await bench.spawn(await freePort(), 'throttled', {
    // Its own container names too, though it never starts one.
    CONTAINER_PREFIX: `${bench.prefix}t-`,
    THROTTLE_TOKEN_LIMIT: '1',
  });
  const json = { ...bench.auth, 'content-type': 'application/json' };
  const main = (path: string, options: Partial<autocannon.Options> = {}) => ({
    pid: service.pid,
    options: { url: `${service.baseUrl}${path}`, ...options },
  });
  const cases: LoadCase[] = [
    { name: '/health', ...main('/health') },
    {
      name: '404 GET /api/containers/nope',
      ...main('/api/containers/nope', { headers: bench.auth }),
    },
    {
      // Also parses and validates a body: more than the pipeline.
      name: '400 POST /api/sessions (bad body)',
      ...main('/api/sessions', { method: 'POST', headers: json, body: '{"env":7}' }),
      reportedOnly: true,
    },
    {
      name: '200 GET /api/containers/{env} (kept state, no Docker)',
      ...main(`/api/containers/${ENV}`, { headers: bench.auth }),
    },
    {
      // Also validates a query and reads the store: more than the pipeline.
      name: '200 GET /api/executions?limit=1 (store only)',
      ...main('/api/executions?limit=1', { headers: bench.auth }),
      reportedOnly: true,
    },
    { name: '401 no token', ...main('/api/containers/nope') },
    {
      name: '429 token over its limit',
      pid: throttled.pid,
      options: { url: `${throttled.baseUrl}/api/containers/nope`, headers: bench.auth },
    },
  ];
  let medians: { name: string; load: Load }[];
  try {
    medians = await interleavedMedians(cases);
  } finally {
    await bench.stop(throttled);
  }
  const health = medians[0].load;
  for (const [index, { name, load: run }] of medians.entries()) {
    const ratio = run.rps / health.rps;
    console.log(`${formatLoad(name, run)}   x${ratio.toFixed(2)} of /health`);
    if (name === '/health') continue;
    const reported = cases[index].reportedOnly === true;
    rows.push({
      line: `${name} / health`,
      value: `${ratio.toFixed(2)}x`,
      target: reported ? '(reported)' : '>= 0.5x',
      pass: reported ? null : ratio >= 0.5,
    });
  }
}

interface Page {
  items: { id: string }[];
  nextCursor: string | null;
}

async function sessions(bench: Bench, service: ServiceChild): Promise<ServiceChild> {
  console.log(`\n== 2. Sessions listing, ${fixed(SESSIONS)} sessions in ${ENV}`);
  const list = (base: string, cursor?: string, timeoutMs = 300_000) =>
    timedRequest(
      `${base}/api/sessions/${ENV}?limit=${PAGE_SIZE}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      { headers: bench.auth },
      timeoutMs,
    );
  const fail = (line: string, target: string, value = 'not measured') =>
    rows.push({ line, value, target, pass: false });

  const run = await timedRequest(
    `${service.baseUrl}/api/execute`,
    {
      method: 'POST',
      headers: { ...bench.auth, 'content-type': 'application/json' },
      body: JSON.stringify({ env: ENV, prompt: 'Write one transcript for the reads benchmark.' }),
    },
    300_000,
  );
  const sessionId = (run.body as { sessionId?: string; success?: boolean } | null)?.sessionId;
  if (run.status !== 200 || !sessionId || !UUID.test(sessionId)) {
    throw new Error(
      `the prompt failed: ${run.status} ${JSON.stringify(run.body)} ${run.error ?? ''}`,
    );
  }
  const source = `${sessionId}.jsonl`;
  const size = (
    await dockerExec(
      ['exec', '-u', 'node', bench.container, 'stat', '-c', '%s', `${TRANSCRIPT_DIR}/${source}`],
      30_000,
    )
  ).trim();
  console.log(
    `one real transcript: ${source}, ${fixed(Number(size))} bytes, in ${fixed(run.ms)} ms`,
  );

  // Each copy gets a fresh lower-case UUID as its name and, inside, in place of the original id.
  const copies = SESSIONS - 1;
  const copyStart = nowMs();
  await dockerExec(
    [
      'exec',
      '-u',
      'node',
      '-w',
      TRANSCRIPT_DIR,
      bench.container,
      'sh',
      '-c',
      `i=0; while [ $i -lt ${copies} ]; do u=$(cat /proc/sys/kernel/random/uuid); ` +
        `sed "s/${sessionId}/$u/g" ${source} > "$u.jsonl"; i=$((i+1)); done; ls | grep -c '\\.jsonl$'`,
    ],
    20 * 60_000,
  ).then((count) =>
    console.log(
      `copied ${fixed(copies)} times in ${fixed((nowMs() - copyStart) / 1000, 1)} s; ${count.trim()} transcripts in the folder`,
    ),
  );

  const first = await list(service.baseUrl, undefined, 900_000);
  console.log(
    `first listing (indexing): ${fixed(first.ms)} ms, status ${first.status}${first.error ? `, ${first.error}` : ''}`,
  );
  rows.push({
    line: 'sessions: first listing (indexing)',
    value: `${first.status === 200 ? '' : `${first.status || 'no answer'} after `}${fixed(first.ms)} ms`,
    target: '(reported)',
    pass: first.status === 200 ? null : false,
  });

  // The first listing answers from the index as far as the first scan has come; the scan goes
  // on reading the new transcripts. Indexed means every session listed.
  const listAll = async (): Promise<number> => {
    const seen = new Set<string>();
    let next: string | undefined;
    do {
      const res = await list(service.baseUrl, next);
      if (res.status !== 200) return -res.status;
      const body = res.body as Page;
      for (const item of body.items) seen.add(item.id);
      next = body.nextCursor ?? undefined;
    } while (next);
    return seen.size;
  };
  const indexStart = nowMs();
  let indexed = await listAll();
  while (indexed !== SESSIONS && nowMs() - indexStart < PAGE_BUDGET_S * 1000) {
    await new Promise((resolve) => setTimeout(resolve, 2000));
    indexed = await listAll();
  }
  console.log(
    `indexed: ${fixed(indexed)} sessions listed ${fixed((nowMs() - indexStart + first.ms) / 1000, 1)} s after the first listing began`,
  );
  rows.push({
    line: 'sessions: all indexed after',
    value: `${fixed((nowMs() - indexStart + first.ms) / 1000, 1)} s`,
    target: '(reported)',
    pass: indexed === SESSIONS ? null : false,
  });

  const times: number[] = [];
  const ids = new Set<string>();
  let errors5xx = 0;
  let failed: string | null = null;
  let cursor: string | undefined;
  const deadline = Date.now() + PAGE_BUDGET_S * 1000;
  const maxPages = Math.ceil(SESSIONS / PAGE_SIZE) + 5;
  for (let page = 0; page < maxPages; page += 1) {
    if (Date.now() > deadline) {
      failed = `stopped after the ${PAGE_BUDGET_S} s budget`;
      break;
    }
    const res = await list(service.baseUrl, cursor);
    times.push(res.ms);
    if (res.status >= 500) errors5xx += 1;
    if (res.status !== 200) {
      failed = `page ${page + 1}: ${res.status} ${res.error ?? JSON.stringify(res.body)}`;
      break;
    }
    const body = res.body as Page;
    for (const item of body.items) ids.add(item.id);
    if (body.nextCursor === null) break;
    cursor = body.nextCursor;
  }
  const [p50, p99, max] = [50, 99, 100].map((p) => (times.length ? percentile(times, p) : NaN));
  console.log(
    `paged once indexed: ${times.length} pages of ${PAGE_SIZE}, p50 ${fixed(p50)} ms, p99 ${fixed(p99)} ms, max ${fixed(max)} ms; ` +
      `${fixed(ids.size)} sessions listed; 5xx: ${errors5xx}${failed ? `; ${failed}` : ''}`,
  );
  rows.push(
    {
      line: 'sessions: page p99 once indexed',
      value: `${fixed(p99)} ms`,
      target: '< 300 ms',
      pass: p99 < 300,
    },
    {
      line: 'sessions: page max once indexed',
      value: `${fixed(max)} ms`,
      target: '< 300 ms',
      pass: max < 300,
    },
    {
      line: 'sessions: listed in all pages',
      value: fixed(ids.size),
      target: `= ${fixed(SESSIONS)}`,
      pass: ids.size === SESSIONS && !failed,
    },
    {
      line: 'sessions: 5xx while paging',
      value: String(errors5xx),
      target: '0',
      pass: errors5xx === 0,
    },
  );

  await bench.stop(service);
  const restarted = await bench.startMain();
  const again = await list(restarted.baseUrl, undefined, 900_000);
  console.log(
    `first listing after a restart: ${fixed(again.ms)} ms, status ${again.status}${again.error ? `, ${again.error}` : ''}`,
  );
  if (again.status === 200) {
    rows.push({
      line: 'sessions: first listing after restart',
      value: `${fixed(again.ms)} ms`,
      target: '< 5,000 ms',
      pass: again.ms < 5000,
    });
  } else {
    fail('sessions: first listing after restart', '< 5,000 ms', `status ${again.status}`);
  }
  return restarted;
}

function summary(): void {
  console.log('\n== Summary');
  const width = Math.max(...rows.map((row) => row.line.length));
  console.log(
    `${'line'.padEnd(width)}  ${'measured'.padStart(12)}  ${'target'.padEnd(12)}  result`,
  );
  for (const row of rows) {
    const result = row.pass === null ? '-' : row.pass ? 'PASS' : 'FAIL';
    console.log(
      `${row.line.padEnd(width)}  ${row.value.padStart(12)}  ${row.target.padEnd(12)}  ${result}`,
    );
  }
}

/** Runs a section; a failure is printed, its lines marked failed, and the bench goes on. */
async function section(name: string, run: () => Promise<void>): Promise<void> {
  try {
    await run();
  } catch (error) {
    console.log(`${name} failed: ${error instanceof Error ? error.message : String(error)}`);
    rows.push({ line: name, value: 'failed', target: '', pass: false });
  }
}

async function main(): Promise<void> {
  const fake = await startFakeAnthropic();
  const bench = new Bench(fake.url, await freePort());
  const interrupted = () => {
    void bench.cleanUp().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  const rss = sampleRss(() => bench.service?.pid ?? 0);
  try {
    console.log(`reads bench: prefix ${bench.prefix}, ${DURATION_S} s per load, 20 connections`);
    let service = await bench.startMain();
    await section('status route', () => statusVsInspect(bench, service));
    await section('pipeline', () => pipeline(bench, service));
    if (SESSIONS > 0) {
      await section('sessions', async () => {
        service = await sessions(bench, service);
      });
    }
    rss.stop();
    console.log(`\n== 4. RSS of the service: max ${fixed(rss.maxMb(), 1)} MB`);
    rows.push({
      line: 'service max RSS',
      value: `${fixed(rss.maxMb(), 1)} MB`,
      target: '< 300 MB',
      pass: rss.maxMb() < 300,
    });
    summary();
  } finally {
    rss.stop();
    await bench.cleanUp();
    await fake.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
