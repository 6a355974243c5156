import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { APP_CONFIG, AppConfig } from '../common/config/app-config';
import { ServiceEvents } from '../common/events/service-events';
import { METRIC_PREFIX, Metrics } from '../common/metrics/metrics';
import { DockerService } from '../docker/docker.service';
import { AGENT_USER, agentContainerName, agentEnvironmentOf } from './agent-layout';
import { agentMcp } from './agent-mcp';
import { loadAgentSdk } from './agent-sdk.loader';
import { LimitCounterReaders } from './limit-counters';
import { MCP_STATUS_DEADLINE_MS, mcpReports } from './mcp-status';
import {
  McpServerReport,
  PromptOptions,
  RunExecutor,
  RunOutcome,
  RunRequest,
} from './run-executor';
import { cliOptions, SdkRunExecutor } from './sdk-run-executor';
import { SpareProcesses } from './spare-processes';
import { WarmCli } from './warm-cli';
import { needsOwnCli, processKey, WarmCapacity, warmCapacity, WarmPool } from './warm-pool';

/** How long a spare may take to start and initialize. */
const SPARE_START_TIMEOUT_MS = 60_000;
const MAX_SWEEP_INTERVAL_MS = 30_000;
/** The start of the run marker of every warm CLI (see `kill`). */
const WARM_MARKER = 'warm-';

/** The start of the marker of every warm CLI a replica starts. */
function warmMarkerOf(replicaId: string): string {
  return `${WARM_MARKER}${replicaId}:`;
}

/** What the pool has done since boot; tests and the bench read it to tell warm from cold. */
export interface WarmStats {
  /** Claude Code processes started (warm sessions, spares and one-off runs alike). */
  processesStarted: number;
  /** Turns served by a CLI that was already running (a warm session or a spare). */
  warmTurns: number;
  /** New sessions given a spare's id. */
  sparesTaken: number;
}

/**
 * Keeps a session's Claude Code process alive after its turn, so its next turn skips the CLI's
 * start (WARM_SESSIONS_*), and keeps spare processes per container for new sessions
 * (SPARE_PROCESSES). A turn that finds no fitting CLI starts one (resuming the transcript when
 * the session has one), exactly as a cold run would; a CLI that dies is forgotten, so a killed
 * process or a restarted container or service costs only the warmth. Where the settings or the
 * container's memory leave no room (WARM_SESSIONS_TOTAL=0), each run is a process of its own.
 */
@Injectable()
export class PooledRunExecutor extends RunExecutor implements OnApplicationShutdown {
  readonly stats: WarmStats = { processesStarted: 0, warmTurns: 0, sparesTaken: 0 };
  private readonly cold: SdkRunExecutor;
  private readonly limits: LimitCounterReaders;
  private readonly capacities: ReadonlyMap<string, WarmCapacity>;
  private readonly pool: WarmPool<WarmCli>;
  private readonly spares: SpareProcesses<WarmCli>;
  private readonly sweeper: NodeJS.Timeout;
  private readonly startingSpares = new Set<WarmCli>();
  private closing = false;
  /**
   * This service's warm CLIs' marker prefix: its replica id (whose characters never include ':')
   * tells whose they are when another replica cleans up after it, the random part this boot's.
   */
  private readonly markerPrefix: string;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly docker: DockerService,
    metrics: Metrics,
    serviceEvents: ServiceEvents,
  ) {
    super();
    this.markerPrefix = `${warmMarkerOf(config.coordination.replicaId)}${randomUUID()}-`;
    this.cold = new SdkRunExecutor(config, docker);
    this.limits = new LimitCounterReaders(docker);
    this.capacities = new Map(
      config.environments.map((env) => [
        agentContainerName(config.agent, env),
        warmCapacity(config.warm, config.agent.limits[env].memoryBytes),
      ]),
    );
    const capacity = (name: string) => this.capacities.get(name) ?? { warm: 0, spares: 0 };
    this.pool = new WarmPool((name) => capacity(name).warm, config.warm.total, config.warm.idleMs);
    this.spares = new SpareProcesses(
      (name) => capacity(name).spares,
      (name) => this.startSpare(name),
    );
    this.sweeper = setInterval(
      () => this.pool.sweep(),
      Math.min(config.warm.idleMs, MAX_SWEEP_INTERVAL_MS),
    ).unref();
    this.registerGauges(metrics);
    // A deleted session has no next turn: its warm CLI would only take a place until recycled.
    serviceEvents.on('session.deleted', ({ env, sessionId }) => {
      void this.pool.closeSession(agentContainerName(config.agent, env), sessionId);
    });
  }

  /** Warm sessions and spares per environment, read at scrape time. */
  private registerGauges(metrics: Metrics): void {
    const containers = this.config.environments.map(
      (env) => [env, agentContainerName(this.config.agent, env)] as const,
    );
    const perEnvironment = (name: string, help: string, count: (container: string) => number) =>
      metrics.gauge({
        name: `${METRIC_PREFIX}${name}`,
        help,
        labelNames: ['env'] as const,
        collect() {
          for (const [env, container] of containers) this.set({ env }, count(container));
        },
      });
    perEnvironment(
      'warm_sessions',
      'Sessions whose Claude Code process is kept alive (idle or in a turn)',
      (container) => this.pool.sizeIn(container),
    );
    perEnvironment(
      'spare_processes',
      'Claude Code processes started ahead and ready for a new session',
      (container) => this.spares.ready(container),
    );
  }

  async run(request: RunRequest): Promise<RunOutcome> {
    if (!this.keepsWarm(request.containerName)) {
      this.stats.processesStarted += 1;
      return this.cold.run(request);
    }
    const key = processKey(request, request.askApproval !== undefined);
    const warm = this.pool.take(request.containerName, request.sessionId, key, request.resume);
    if (warm) {
      const outcome = await this.turn(warm, true, request);
      // A CLI that died between turns, before its end was seen, never got the turn: it runs on
      // a new process as if the session had not been warm.
      if (!(warm.dead && warm.lastTurnMessages === 0 && outcome.end === 'exited')) {
        this.stats.warmTurns += 1;
        return outcome;
      }
    }
    const cli = await this.startCli(request, key);
    return this.turn(cli, !needsOwnCli(request) && this.pool.add(cli), request);
  }

  /** Runs the request's turn on `cli`, then hands it back to the pool (or closes it). */
  private async turn(cli: WarmCli, pooled: boolean, request: RunRequest): Promise<RunOutcome> {
    const outcome = await cli.runTurn(request, {
      limits: this.limits,
      cancelGraceMs: this.config.execution.cancelGraceMs,
    });
    // As a cold run's does, a cancelled turn's CLI ends before the cancel is answered.
    if (outcome.end === 'cancelled') await cli.close();
    if (pooled && !this.closing) this.pool.release(cli);
    else void cli.close();
    return outcome;
  }

  /**
   * Kills the run's CLI. A warm CLI carries the marker of the service that started it, not of
   * the runs it served: every warm CLI of the replica that ran it (of every earlier service when
   * that is not known) is killed with it, never this service's own (idle ones of a crashed
   * service have already ended when their connection closed).
   */
  async kill(containerName: string, runId: string, ownerReplica?: string | null): Promise<void> {
    await Promise.all([
      this.cold.kill(containerName, runId),
      this.docker.signalMarked(
        containerName,
        ownerReplica ? warmMarkerOf(ownerReplica) : WARM_MARKER,
        this.markerPrefix,
        'SIGKILL',
        AGENT_USER,
      ),
    ]);
  }

  /** Sessions whose CLI is kept (idle or in a turn). */
  warmSessions(): number {
    return this.pool.size;
  }

  /** Spares of the container ready now. */
  readySpares(containerName: string): number {
    return this.spares.ready(containerName);
  }

  override closeWarmSession(containerName: string, sessionId: string): Promise<void> {
    return this.pool.closeSession(containerName, sessionId);
  }

  override closeWarmSessions(): Promise<void> {
    return this.pool.closeIdle();
  }

  override containerRunning(containerName: string, running: boolean): void {
    if (running) {
      this.spares.running(containerName);
      return;
    }
    // Its processes are gone with it; what was kept there is let go.
    this.spares.stopped(containerName);
    void this.pool.closeIdle(containerName);
    this.limits.close(containerName);
  }

  override takeSpareSessionId(
    containerName: string,
    options: Omit<PromptOptions, 'prompt'>,
  ): string | null {
    const spareKey = processKey(this.spareOptions(containerName), false);
    if (processKey(options, options.approvals === true) !== spareKey) return null;
    const spare = this.spares.take(containerName);
    if (!spare) return null;
    // Parked as the session's warm CLI: its first run finds it as any warm turn does.
    this.pool.park(spare);
    this.stats.sparesTaken += 1;
    return spare.sessionId;
  }

  async onApplicationShutdown(): Promise<void> {
    this.closing = true;
    clearInterval(this.sweeper);
    await Promise.all([
      this.spares.closeAll(),
      this.pool.closeIdle(),
      ...[...this.startingSpares].map((cli) => cli.close()),
    ]);
    this.limits.close();
  }

  private keepsWarm(containerName: string): boolean {
    return !this.closing && (this.capacities.get(containerName)?.warm ?? 0) > 0;
  }

  /** A CLI for the request's session, started with the request's options. */
  private async startCli(request: RunRequest, key: string): Promise<WarmCli> {
    const { query } = await loadAgentSdk();
    this.stats.processesStarted += 1;
    const cli = this.newCli(request.containerName, request.sessionId, key, request.runId);
    const options = cliOptions(this.config, request.containerName, request, request);
    return cli.started((input) =>
      query({ prompt: input, options: cli.sdkOptions(options, request.askApproval !== undefined) }),
    );
  }

  /**
   * What a spare starts with: the options of a run that names none in the container's
   * environment (its default permission mode), so that such a run can take it.
   */
  private spareOptions(containerName: string): Omit<PromptOptions, 'prompt'> {
    const env = agentEnvironmentOf(this.config.agent, containerName);
    return { permissionMode: this.config.execution.permissions[env]?.defaultMode };
  }

  /** A CLI for a new session of the environment's default options, started and initialized now. */
  private async startSpare(containerName: string): Promise<WarmCli> {
    const { startup } = await loadAgentSdk();
    this.stats.processesStarted += 1;
    const sessionId = randomUUID();
    const spare = this.spareOptions(containerName);
    const key = processKey(spare, false);
    const cli = this.newCli(containerName, sessionId, key, `spare-${sessionId}`);
    const options = cliOptions(this.config, containerName, spare, { sessionId, resume: false });
    this.startingSpares.add(cli);
    try {
      const warm = await startup({
        options: cli.sdkOptions(options, false),
        initializeTimeoutMs: SPARE_START_TIMEOUT_MS,
      });
      return cli.parked(warm);
    } catch (error) {
      await cli.close();
      // Logged by the spares.
      throw agentMcp(this.config, containerName).redactor.error(error);
    } finally {
      this.startingSpares.delete(cli);
    }
  }

  /**
   * Read through a ready spare when the container has one (it is not taken, and stays ready),
   * else through a CLI started for the read alone.
   */
  async mcpServerStatus(containerName: string): Promise<McpServerReport[]> {
    const { redactor } = agentMcp(this.config, containerName);
    try {
      const spare = this.spares.peek(containerName);
      if (!spare) {
        this.stats.processesStarted += 1;
        return await this.cold.mcpServerStatus(containerName);
      }
      const statuses = await spare.mcpServerStatus(Date.now() + MCP_STATUS_DEADLINE_MS);
      return mcpReports(statuses, redactor);
    } catch (error) {
      throw redactor.error(error);
    }
  }

  private newCli(containerName: string, sessionId: string, key: string, marker: string): WarmCli {
    const prefixed = `${this.markerPrefix}${marker}`;
    return new WarmCli(containerName, sessionId, key, this.docker, this.config, prefixed, (cli) => {
      this.pool.drop(cli);
      this.spares.refill(cli.containerName);
    });
  }
}
