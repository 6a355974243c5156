import type { components } from '../../client/src';
import { dockerCli, markedProcesses } from '../support/docker-cli';
import { RecordedRequest } from '../support/fake-anthropic';
import {
  LOCAL_ENV,
  Replica,
  ReplicaCluster,
  ReplicaName,
  SECOND_HOST_ENV,
  startReplicaCluster,
  withDeadline,
} from '../support/replica-cluster';
import { readSse, SseEvent } from '../support/sse-client';
import { envParams } from '../support/test-app';
import { waitUntil } from '../support/wait';

type Execution = components['schemas']['ExecutionDto'];
type SubmitExecution = components['schemas']['SubmitExecutionDto'];

/** MAX_CONCURRENT_PER_ENV: low, so a small burst has to queue. */
const LIMIT = 2;
/** The stated bound for a dead replica's runs: lease TTL 10 s + reaper period 5 s. */
const INTERRUPTED_BOUND_MS = 15_000;
/** Room for a loaded machine on top of the bound; the measured time is logged. */
const BOUND_MARGIN_MS = 10_000;
/** How long a burst of runs may take before the test gives up instead of hanging. */
const PATIENCE_MS = 90_000;
/** The same for a stream's events, or a run's first model call. */
const STREAM_PATIENCE_MS = 45_000;
const FINAL_STATUSES: readonly string[] = [
  'succeeded',
  'failed',
  'cancelled',
  'timed_out',
  'interrupted',
];

const runParams = (id: string) => ({ params: { path: { id } } });

/**
 * Issue 13's "Done when" against real servers: two API processes (the built service) on one
 * PostgreSQL database and one Redis, and two real Docker engines, the second in its own network
 * namespace as a separate host. Each test names the item it proves. One cluster serves the file
 * (the agent image is loaded into the second engine once); a test that kills a replica leaves
 * the next one a fresh process in its place.
 */
describe('API replicas on PostgreSQL and Redis, agents on two Docker hosts (real engines, real CLI)', () => {
  let cluster: ReplicaCluster;
  const a = (): Replica => cluster.replica('a');
  const b = (): Replica => cluster.replica('b');

  beforeAll(async () => {
    cluster = await startReplicaCluster({
      MAX_CONCURRENT_PER_ENV: String(LIMIT),
      SSE_HEARTBEAT_MS: '500',
    });
    const started = await a().client.POST('/api/containers/{env}/start', envParams(LOCAL_ENV));
    expect(started.response.status).toBe(200);
  }, 300_000);
  beforeEach(() => cluster.ensureRunning());
  afterEach(() => cluster.fake.clear());
  afterAll(() => cluster?.close());

  async function submit(replica: Replica, body: SubmitExecution) {
    const res = await replica.client.POST('/api/executions', { body });
    if (res.response.status !== 202 || !res.data) {
      throw new Error(
        `submit through ${replica.name}: ${res.response.status} ${JSON.stringify(res.error)}`,
      );
    }
    return res.data;
  }

  async function getRun(replica: Replica, id: string): Promise<Execution> {
    const res = await replica.client.GET('/api/executions/{id}', runParams(id));
    if (!res.data)
      throw new Error(`run ${id} through ${replica.name}: ${JSON.stringify(res.error)}`);
    return res.data;
  }

  /** A reserved session, so its first turn starts a CLI of its own (no spare is taken). */
  async function newSession(replica: Replica): Promise<string> {
    const res = await replica.client.POST('/api/sessions', { body: { env: LOCAL_ENV } });
    if (!res.data) throw new Error(`no session through ${replica.name}`);
    return res.data.sessionId;
  }

  /**
   * The processes in the container that belong to the run: the ones it started (their marker
   * carries its id) and any CLI of its session (warm, or a spare it took).
   */
  const cliOf = (run: { id: string; sessionId: string }) =>
    markedProcesses(cluster.containerName(LOCAL_ENV)).filter(
      (process) => process.marker.includes(run.id) || process.args.includes(run.sessionId),
    );

  const streamUrl = (replica: Replica, id: string) =>
    `${replica.baseUrl}/api/executions/${id}/events`;
  const bearer = () => ({ authorization: `Bearer ${cluster.token}` });

  it("holds the environment's limit and each session's order over a burst submitted through both replicas", async () => {
    const { fake } = cluster;
    // Every model call waits a while, so the runs overlap as far as the queue lets them.
    for (let i = 0; i < 12; i += 1) fake.enqueue({ kind: 'text', delayMs: 1500 });
    const sessions = [await newSession(a()), await newSession(b())];
    // Each session's turns alternate between the replicas; two runs of new sessions beside.
    const plan: [ReplicaName, string | undefined][] = [
      ['a', sessions[0]],
      ['b', sessions[1]],
      ['b', sessions[0]],
      ['a', sessions[1]],
      ['a', sessions[0]],
      ['b', sessions[1]],
      ['a', undefined],
      ['b', undefined],
    ];
    const submitted: { id: string; prompt: string; sessionId?: string }[] = [];
    for (const [index, [name, sessionId]] of plan.entries()) {
      const prompt = `burst turn ${index} of ${sessionId ?? 'a new session'}`;
      const run = await submit(cluster.replica(name), { env: LOCAL_ENV, prompt, sessionId });
      submitted.push({ id: run.id, prompt, sessionId });
    }

    let runs: Execution[] = [];
    await waitUntil(
      async () => {
        runs = await Promise.all(submitted.map(({ id }) => getRun(a(), id)));
        return runs.every((run) => FINAL_STATUSES.includes(run.status));
      },
      'every run of the burst to end',
      PATIENCE_MS,
    );
    expect(runs.map((run) => run.status)).toEqual(submitted.map(() => 'succeeded'));
    for (const sessionId of sessions) {
      const turns = submitted.filter((turn) => turn.sessionId === sessionId);
      const stored = turns.map(({ id }) => runs.find((run) => run.id === id) as Execution);
      // In submit order, one at a time.
      for (let i = 1; i < stored.length; i += 1) {
        expect(instant(stored[i].startedAt)).toBeGreaterThanOrEqual(
          instant(stored[i - 1].finishedAt),
        );
      }
      const prompts = turns.map((turn) => turn.prompt);
      expect(stored.map((run) => run.result)).toEqual(prompts.map((prompt) => `echo: ${prompt}`));
      // The model saw the earlier turns in order, and so does the session's transcript.
      const lastCall = fake.mainRequests.find((call) => saw(call, prompts.at(-1) ?? ''));
      expectInOrder(JSON.stringify(lastCall?.body.messages), prompts);
      const transcript = await b().client.GET('/api/sessions/{env}/{id}', {
        params: { path: { env: LOCAL_ENV, id: sessionId } },
      });
      const userTexts = (transcript.data?.messages ?? [])
        .filter((message) => message.type === 'user')
        .map((message) => message.text ?? '');
      // Each prompt once: no turn ran twice.
      const counts = prompts.map((prompt) => userTexts.filter((text) => text.includes(prompt)));
      expect(counts.map((found) => found.length)).toEqual(prompts.map(() => 1));
      expectInOrder(userTexts.join('\n'), prompts);
    }
    // At most LIMIT at once over both replicas, and the burst did fill the limit.
    expect(mostAtOnce(runs)).toBe(LIMIT);
  });

  it('streams a run B owns to a client on A in order, and resumes on B without loss after A is killed', async () => {
    // 60 chunks 100 ms apart: the run is still streaming when A dies.
    cluster.fake.replySlow('x'.repeat(6000), { delayMs: 300, chunkDelayMs: 100, chunkSize: 100 });
    const run = await submit(b(), {
      env: LOCAL_ENV,
      prompt: 'stream across replicas',
      includePartialMessages: true,
    });

    const KILL_AFTER = 8;
    const throughA: SseEvent[] = [];
    let killed: Promise<void> | undefined;
    const firstPart = readSse(streamUrl(a(), run.id), {
      headers: bearer(),
      onEvent: (event) => {
        throughA.push(event);
        if (throughA.length === KILL_AFTER) killed = cluster.kill('a');
      },
    }).catch(() => undefined); // The connection dies with A.
    await withDeadline(firstPart, STREAM_PATIENCE_MS, `${KILL_AFTER} events of B's run through A`);
    await killed;
    expect(throughA.length).toBeGreaterThanOrEqual(KILL_AFTER);
    expect(throughA.map((event) => Number(event.id))).toEqual(throughA.map((_, i) => i + 1));

    const lastId = throughA.at(-1)?.id ?? '';
    const rest = await withDeadline(
      readSse(streamUrl(b(), run.id), { headers: { ...bearer(), 'last-event-id': lastId } }),
      STREAM_PATIENCE_MS,
      'the rest of the stream through B',
    );
    expect(rest).toMatchObject({ status: 200, closedByServer: true });
    const end = rest.events.at(-1);
    expect(end?.event).toBe('end');
    expect(JSON.parse(end?.data ?? '{}')).toMatchObject({ id: run.id, status: 'succeeded' });
    // A died mid-run: more than the end came after it.
    expect(rest.events.length).toBeGreaterThan(1);

    // Nothing lost, nothing twice: the two parts are the stored events, as a replay gives them.
    const replay = await withDeadline(
      readSse(streamUrl(b(), run.id), { headers: bearer() }),
      STREAM_PATIENCE_MS,
      'the replay through B',
    );
    const stored = replay.events.filter((event) => event.event !== 'end');
    const joined = [...throughA, ...rest.events].filter((event) => event.event !== 'end');
    expect(joined.map((event) => event.id)).toEqual(stored.map((event) => event.id));
    expect(joined.map((event) => event.data)).toEqual(stored.map((event) => event.data));
    expect(stored.map((event) => Number(event.id))).toEqual(stored.map((_, i) => i + 1));
  });

  it('kills the CLI B started when the cancel is sent to A, and A neither deletes nor forks its session meanwhile', async () => {
    cluster.fake.enqueue({ kind: 'hang' });
    const sessionId = await newSession(b());
    const run = await submit(b(), { env: LOCAL_ENV, prompt: 'wait to be cancelled', sessionId });
    await cluster.fake.waitForMainRequests(1, STREAM_PATIENCE_MS);
    expect(cliOf(run)).not.toEqual([]);

    const session = { params: { path: { env: LOCAL_ENV, id: sessionId } } };
    const deleting = await a().client.DELETE('/api/sessions/{env}/{id}', session);
    expect(deleting.error).toMatchObject({ statusCode: 409, code: 'SESSION_BUSY' });
    const forking = await a().client.POST('/api/sessions/{env}/{id}/fork', {
      ...session,
      body: {},
    });
    expect(forking.error).toMatchObject({ statusCode: 409, code: 'SESSION_BUSY' });
    expect(await getRun(b(), run.id)).toMatchObject({ status: 'running' });

    const cancel = await a().client.POST('/api/executions/{id}/cancel', runParams(run.id));
    expect(cancel.response.status).toBe(200);
    expect(cancel.data).toMatchObject({ id: run.id, status: 'cancelled', errorCode: 'CANCELLED' });
    await waitUntil(() => Promise.resolve(cliOf(run).length === 0), `the CLI of ${run.id} gone`);
    expect(await getRun(b(), run.id)).toMatchObject({ status: 'cancelled' });
  });

  it(`marks B's run interrupted through A within ${INTERRUPTED_BOUND_MS / 1000} s of B's SIGKILL, and leaves no CLI`, async () => {
    cluster.fake.enqueue({ kind: 'hang' });
    const sessionId = await newSession(b());
    const run = await submit(b(), { env: LOCAL_ENV, prompt: 'outlive my replica', sessionId });
    await cluster.fake.waitForMainRequests(1, STREAM_PATIENCE_MS);
    expect(cliOf(run)).not.toEqual([]);

    await cluster.kill('b');
    const killedAt = Date.now();
    let seen: Execution | undefined;
    await waitUntil(
      async () => {
        seen = await getRun(a(), run.id);
        return FINAL_STATUSES.includes(seen.status);
      },
      `run ${run.id} to end through A within the bound (${INTERRUPTED_BOUND_MS} ms) and a margin`,
      INTERRUPTED_BOUND_MS + BOUND_MARGIN_MS,
    );
    process.stdout.write(
      `replicas: B's run ended ${seen?.status} through A ${Date.now() - killedAt} ms after B's SIGKILL (stated bound ${INTERRUPTED_BOUND_MS} ms)\n`,
    );
    expect(seen).toMatchObject({ status: 'interrupted', errorCode: 'INTERRUPTED' });
    await waitUntil(() => Promise.resolve(cliOf(run).length === 0), `the CLI of ${run.id} gone`);
  });

  const containerOn = (engine: (...args: string[]) => string, name: string): boolean =>
    engine('ps', '-aq', '--filter', `name=^${name}$`).trim() !== '';

  it('runs the prompts of an environment placed on the second host there, through both replicas', async () => {
    for (const replica of [a(), b()]) {
      const prompt = `on the second host through ${replica.name}`;
      const res = await replica.client.POST('/api/execute', {
        body: { env: SECOND_HOST_ENV, prompt },
      });
      expect(res.data).toMatchObject({ success: true, output: `echo: ${prompt}` });
    }
    const name = cluster.containerName(SECOND_HOST_ENV);
    expect(containerOn(cluster.second.docker, name)).toBe(true);
    expect(containerOn(dockerCli, name)).toBe(false);
    // The CLIs talked to the fake inside the namespace, not to the one on the machine's loopback.
    const calls = cluster.second
      .requestLines()
      .filter((line) => line.includes('POST /v1/messages'));
    expect(calls.length).toBeGreaterThanOrEqual(2);
    expect(cluster.fake.mainRequests).toHaveLength(0);
    for (const replica of [a(), b()]) {
      const status = await replica.client.GET('/api/containers/{env}', envParams(SECOND_HOST_ENV));
      expect(status.data).toMatchObject({ host: 'second', running: true });
    }
  });

  it("answers 503 for the second host's environment through both replicas once its engine stops, and the other goes on", async () => {
    await cluster.second.killEngine();
    const unavailable = {
      statusCode: 503,
      code: 'DOCKER_UNAVAILABLE',
      message: 'The Docker engine of host second is not reachable; try again shortly',
    };
    for (const replica of [a(), b()]) {
      const status = () => replica.client.GET('/api/containers/{env}', envParams(SECOND_HOST_ENV));
      await waitUntil(
        async () => (await status()).response.status === 503,
        `${SECOND_HOST_ENV} to be 503 through ${replica.name}`,
      );
      expect((await status()).error).toMatchObject(unavailable);
      const refused = await replica.client.POST('/api/execute', {
        body: { env: SECOND_HOST_ENV, prompt: 'nobody home' },
      });
      expect(refused.response.status).toBe(503);
      expect(refused.error).toMatchObject(unavailable);

      const prompt = `still here through ${replica.name}`;
      const local = await replica.client.POST('/api/execute', { body: { env: LOCAL_ENV, prompt } });
      expect(local.data).toMatchObject({ success: true, output: `echo: ${prompt}` });
      const localStatus = await replica.client.GET('/api/containers/{env}', envParams(LOCAL_ENV));
      expect(localStatus.data).toMatchObject({ host: 'local', running: true });
    }
  });
});

/** A stored timestamp in ms; a run that ended has both. */
function instant(iso: string | null): number {
  if (iso === null) throw new Error('a run that ended has no start or end time');
  return Date.parse(iso);
}

/** The most runs that were running at one instant, from their stored start and end. */
function mostAtOnce(runs: Execution[]): number {
  const edges = runs.flatMap((run) => [
    { at: instant(run.startedAt), step: 1 },
    { at: instant(run.finishedAt), step: -1 },
  ]);
  // An end and a start at the same instant: the end first, its slot was free.
  edges.sort((x, y) => x.at - y.at || x.step - y.step);
  let running = 0;
  let most = 0;
  for (const edge of edges) {
    running += edge.step;
    most = Math.max(most, running);
  }
  return most;
}

/** Whether the model call carried `prompt` as its last user text. */
function saw(call: RecordedRequest, prompt: string): boolean {
  const last = [...call.body.messages].reverse().find((message) => message.role === 'user');
  return JSON.stringify(last?.content ?? '').includes(prompt);
}

/** Each of `texts` stands in `haystack`, in their order. */
function expectInOrder(haystack: string | undefined, texts: string[]): void {
  const at = texts.map((text) => (haystack ?? '').indexOf(text));
  expect(at.filter((position) => position < 0)).toEqual([]);
  expect(at).toEqual([...at].sort((x, y) => x - y));
}
