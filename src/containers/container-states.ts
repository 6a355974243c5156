import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnModuleDestroy,
  Optional,
} from '@nestjs/common';
import { agentContainerName, MANAGED_LABEL } from '../agent/agent-layout';
import { RunExecutor } from '../agent/run-executor';
import { APP_CONFIG, AppConfig } from '../common/config/app-config';
import { DockerService } from '../docker/docker.service';
import { ContainerInfo, DockerEvent, EventWatch } from '../docker/docker.types';
import { ContainerPlacement } from './container-placement';
import { isManaged } from './containers.errors';

const RETRY_MIN_MS = 250;
/**
 * The events that change what a status shows. Execs and archive reads (every run and transcript
 * read makes them) are left out by the engine itself.
 */
const STATE_EVENTS = [
  'create',
  'start',
  'restart',
  'die',
  'stop',
  'kill',
  'oom',
  'pause',
  'unpause',
  'rename',
  'update',
  'destroy',
];
const RETRY_MAX_MS = 5000;

/**
 * The agent containers' state as the service keeps it: read once per environment, then kept
 * current from Docker's event stream, so a status read never waits on Docker. A change made
 * behind the service's back (the `docker` CLI, a crash, a restart policy) arrives as an event
 * within milliseconds. While the stream is down (Docker away, a proxy timeout), reads fall
 * back to a live inspect, and the state is read afresh once the stream is back. Each host of
 * the pool has its own stream: one host down leaves the others' states kept.
 */
@Injectable()
export class ContainerStates implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(ContainerStates.name);
  private readonly known = new Map<string, ContainerInfo | null>();
  /** Inspects are numbered per environment: an answer never replaces one of a later inspect. */
  private readonly issued = new Map<string, number>();
  private readonly kept = new Map<string, number>();
  private readonly envByName: ReadonlyMap<string, string>;
  private readonly changeListeners: ((env: string, info: ContainerInfo | null) => void)[] = [];
  /** The hosts whose event stream is followed and whose environments were read since. */
  private readonly synced = new Set<string>();
  private stopped = false;
  private readonly watches = new Map<string, EventWatch>();
  private readonly retries = new Map<string, NodeJS.Timeout>();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly docker: DockerService,
    private readonly placement: ContainerPlacement,
    @Optional() private readonly runner?: RunExecutor,
  ) {
    this.envByName = new Map(
      config.environments.map((env) => [agentContainerName(config.agent, env), env]),
    );
  }

  onApplicationBootstrap(): void {
    for (const host of this.placement.hostNames()) void this.follow(host, RETRY_MIN_MS);
  }

  onModuleDestroy(): void {
    this.stopped = true;
    for (const retry of this.retries.values()) clearTimeout(retry);
    for (const watch of this.watches.values()) watch.stop();
  }

  /** The environment's container as last seen, or a live inspect while its stream is down. */
  get(env: string): Promise<ContainerInfo | null> {
    const host = this.placement.knownHostOf(env);
    if (host !== undefined && this.synced.has(host) && this.known.has(env)) {
      return Promise.resolve(this.known.get(env) ?? null);
    }
    return this.refresh(env);
  }

  /** Inspects the container now (after the service changed it, say) and keeps the answer. */
  async refresh(env: string): Promise<ContainerInfo | null> {
    const number = (this.issued.get(env) ?? 0) + 1;
    this.issued.set(env, number);
    const info = await this.docker.inspectContainer(this.containerName(env));
    if (number > (this.kept.get(env) ?? 0)) {
      this.kept.set(env, number);
      this.known.set(env, info);
      // The runner starts its spare CLIs in a container that runs, and lets go of a stopped one's;
      // never in one of the same name that the service did not make.
      const runsOurs = info !== null && isManaged(info) && info.running;
      this.runner?.containerRunning(this.containerName(env), runsOurs);
      for (const listener of this.changeListeners) listener(env, info);
    }
    return info;
  }

  /** Calls `listener` with each state kept (a change, or the same state read again). */
  onChange(listener: (env: string, info: ContainerInfo | null) => void): void {
    this.changeListeners.push(listener);
  }

  private containerName(env: string): string {
    return agentContainerName(this.config.agent, env);
  }

  /**
   * Follows one host's event stream for as long as the service runs, reconnecting with backoff.
   * The environments placed there are read once it is open; one placed later is read then.
   */
  private async follow(host: string, delayMs: number): Promise<void> {
    if (this.stopped) return;
    let nextDelay = Math.min(delayMs * 2, RETRY_MAX_MS);
    try {
      const watch = await this.docker.watchEvents(
        host,
        { type: ['container'], label: [`${MANAGED_LABEL}=true`], event: STATE_EVENTS },
        (event) => this.onEvent(host, event),
      );
      this.watches.set(host, watch);
      // The service may have begun to close while the stream was being opened.
      if (this.stopped) watch.stop();
      // Subscribed first, then read: no change can fall between the two.
      const placedHere = this.config.environments.filter(
        (env) => this.placement.knownHostOf(env) === host,
      );
      await Promise.all(placedHere.map((env) => this.refresh(env)));
      this.synced.add(host);
      nextDelay = RETRY_MIN_MS;
      await watch.ended;
      if (!this.stopped) this.logger.warn(`The Docker event stream of ${host} ended; reconnecting`);
    } catch (error) {
      if (delayMs === RETRY_MIN_MS) {
        this.logger.warn(`Cannot follow the Docker events of ${host} (${String(error)}); retrying`);
      }
    }
    this.synced.delete(host);
    this.watches.get(host)?.stop();
    this.watches.delete(host);
    if (this.stopped) return;
    const retry = setTimeout(() => void this.follow(host, nextDelay), nextDelay);
    retry.unref();
    this.retries.set(host, retry);
  }

  private onEvent(host: string, event: DockerEvent): void {
    const env = this.envByName.get(event.attributes.name ?? '');
    // A container of that name on another host than the environment's is not its container.
    if (env === undefined || this.placement.knownHostOf(env) !== host) return;
    this.refresh(env).catch((error: unknown) => {
      // The next read inspects live again rather than trust a state it could not refresh.
      this.known.delete(env);
      this.logger.warn(`Could not refresh the container of ${env}: ${String(error)}`);
    });
  }
}
