import type {
  McpServerStatus,
  Options,
  Query,
  SDKMessage,
  SDKUserMessage,
  WarmQuery,
} from '@anthropic-ai/claude-agent-sdk';
import { AppConfig } from '../common/config/app-config';
import { DockerProcess } from '../docker/docker-process';
import { DockerService } from '../docker/docker.service';
import { agentMcp } from './agent-mcp';
import { LimitCounterReaders } from './limit-counters';
import { LimitHit, limitHitBetween } from './limit-report';
import { settledMcpStatus } from './mcp-status';
import { ApprovalAnswer, ApprovalAsk, RunOutcome, RunRequest } from './run-executor';
import {
  canUseTool,
  errorMessage,
  KILL_GRACE_MS,
  rawStreamLimit,
  RunState,
  spawnCli,
  waitForExit,
  watchCliOutput,
} from './sdk-run-executor';

/** What a warm CLI's turns need besides the request. */
export interface TurnContext {
  limits: LimitCounterReaders;
  cancelGraceMs: number;
}

/** The turn in progress: where the process's output and approvals go. */
interface Turn {
  state: RunState;
  request: RunRequest;
  rawLimit: number;
}

/**
 * One Claude Code process kept alive between the turns of a session (the SDK's streaming input):
 * each turn is a user message written to its stdin and read up to its `result`. What is fixed at
 * start (the options of `key`, `canUseTool`, the spawn hook) is routed to the turn in progress,
 * so each turn keeps the semantics of a run of its own: deadline, cancel, output limit, stderr,
 * limits and approvals.
 */
export class WarmCli {
  /** Turns served; a CLI that has served none has an empty transcript still. */
  turns = 0;
  /** Messages the last turn read; none when the process was gone before the turn reached it. */
  lastTurnMessages = 0;
  private process: DockerProcess | undefined;
  private source: Query | WarmQuery | undefined;
  private messages: AsyncIterator<SDKMessage> | undefined;
  private turn: Turn | undefined;
  private ended = false;
  private readonly input = new UserMessages();
  private readonly abortController = new AbortController();

  constructor(
    readonly containerName: string,
    readonly sessionId: string,
    /** The process options it was started with (see `processKey`). */
    readonly key: string,
    private readonly docker: DockerService,
    private readonly config: AppConfig,
    /** What `kill()` finds its processes by. */
    private readonly marker: string,
    private readonly onExit: (cli: WarmCli) => void,
  ) {}

  /** Its process has ended (or never started): it serves no more turns. */
  get dead(): boolean {
    return this.ended;
  }

  /** `base` with this CLI's spawn, abort and, with `approvals`, its `canUseTool`. */
  sdkOptions(base: Options, approvals: boolean): Options {
    return {
      ...base,
      abortController: this.abortController,
      ...(approvals
        ? { canUseTool: canUseTool((ask, signal) => this.askApproval(ask, signal)) }
        : {}),
      spawnClaudeCodeProcess: (spawn) => {
        const process = spawnCli(this.docker, this.config, this.containerName, this.marker, spawn);
        this.process = process;
        watchCliOutput(
          process,
          () => this.turn,
          () => this.kill(),
        );
        void process.waitForExit().then(() => this.markEnded());
        return process;
      },
    };
  }

  /** Started with a streaming query: the process comes up with the first turn's message. */
  started(query: (input: AsyncIterable<SDKUserMessage>) => Query): this {
    this.source = query(this.input);
    return this;
  }

  /** Started ahead of its session (the SDK's `startup()`): the first turn skips the start. */
  parked(warm: WarmQuery): this {
    this.source = warm;
    return this;
  }

  /** Runs one turn to its `result` (or the process's end); never throws. */
  async runTurn(request: RunRequest, context: TurnContext): Promise<RunOutcome> {
    const state = new RunState(
      request.maxOutputBytes,
      agentMcp(this.config, this.containerName).redactor,
    );
    this.lastTurnMessages = 0;
    this.turn = { state, request, rawLimit: rawStreamLimit(request.maxOutputBytes) };
    const before = await context.limits.read(this.containerName);
    let grace: NodeJS.Timeout | undefined;
    const deadline = setTimeout(() => {
      state.end ??= 'timeout';
      this.kill();
    }, request.deadlineMs);
    const cancel = () => {
      state.end ??= 'cancelled';
      // The interrupt ends the turn with a result and keeps the CLI; one that does not stop
      // within the grace period is killed.
      if (this.source && 'interrupt' in this.source) {
        this.source.interrupt().catch(() => undefined);
      }
      grace = setTimeout(() => this.kill(), context.cancelGraceMs);
    };
    try {
      if (request.signal?.aborted) {
        state.end = 'cancelled';
      } else {
        request.signal?.addEventListener('abort', cancel, { once: true });
        this.input.push(userMessage(request.prompt, this.sessionId));
        await this.readTurn(state, request);
      }
    } catch (error) {
      if (!state.end) state.failure = errorMessage(error);
      this.kill();
    } finally {
      clearTimeout(deadline);
      clearTimeout(grace);
      request.signal?.removeEventListener('abort', cancel);
    }
    // A turn stopped by a kill leaves a CLI on its way out: it is not kept.
    if (state.end === 'timeout' || state.end === 'output_limit') this.kill();
    const exitCode = this.ended
      ? await waitForExit(this.process, () => this.kill())
      : exitCodeOf(state);
    const after = await context.limits.read(this.containerName);
    this.turn = undefined;
    this.turns += 1;
    return state.outcome(exitCode, measuredLimit(before, after));
  }

  /** Ends the process: its input is closed, and it is killed if it lingers. */
  async close(): Promise<void> {
    this.input.end();
    // Not started yet (a spare still starting): its start is aborted.
    if (this.source) this.source.close();
    else this.kill();
    const process = this.process;
    if (!process || this.ended) return;
    const timer = setTimeout(() => process.kill('SIGKILL'), KILL_GRACE_MS);
    await process.waitForExit();
    clearTimeout(timer);
  }

  /**
   * Its MCP servers' status, once none is still connecting or as it is at `deadline` (epoch ms).
   * No turn is taken: a spare stays a spare.
   */
  mcpServerStatus(deadline: number): Promise<McpServerStatus[]> {
    return settledMcpStatus(this.query(), deadline);
  }

  /** The streaming query over its input; a parked spare's is opened now (no message is sent). */
  private query(): Query {
    const source = this.source;
    if (!source) throw new Error('The CLI was not started');
    if ('interrupt' in source) return source;
    const query = source.query(this.input);
    this.source = query;
    return query;
  }

  private async readTurn(state: RunState, request: RunRequest): Promise<void> {
    this.messages ??= this.query()[Symbol.asyncIterator]();
    for (;;) {
      const next = await this.messages.next();
      if (next.done) {
        this.markEnded();
        return;
      }
      this.lastTurnMessages += 1;
      const message = state.accept(next.value);
      request.onMessage?.(message);
      if (message.type === 'result') return;
    }
  }

  private askApproval(ask: ApprovalAsk, signal: AbortSignal): Promise<ApprovalAnswer> {
    const askApproval = this.turn?.request.askApproval;
    // Fail closed: an ask outside a turn (or of a turn without approvals) is denied.
    if (!askApproval) {
      return Promise.resolve({ behavior: 'deny', message: 'No turn waits for this approval' });
    }
    return askApproval(ask, signal);
  }

  private kill(): void {
    this.abortController.abort();
    const process = this.process;
    if (!process) return;
    process.kill('SIGTERM');
    setTimeout(() => process.kill('SIGKILL'), KILL_GRACE_MS).unref();
  }

  private markEnded(): void {
    if (this.ended) return;
    this.ended = true;
    this.input.end();
    this.onExit(this);
  }
}

/** The limit hit between two readings; undefined when either failed (the exit report decides). */
function measuredLimit(
  before: Awaited<ReturnType<LimitCounterReaders['read']>>,
  after: Awaited<ReturnType<LimitCounterReaders['read']>>,
): LimitHit | null | undefined {
  return before && after ? limitHitBetween(before, after) : undefined;
}

/** What `claude -p` would have exited with after this turn. */
function exitCodeOf(state: RunState): number | null {
  const result = state.resultMessage;
  if (!result) return null;
  return result.is_error ? 1 : 0;
}

function userMessage(prompt: string, sessionId: string): SDKUserMessage {
  return {
    type: 'user',
    message: { role: 'user', content: prompt },
    parent_tool_use_id: null,
    session_id: sessionId,
  };
}

/** The CLI's input: the turns' messages, in order, until it is ended. */
class UserMessages implements AsyncIterable<SDKUserMessage> {
  private readonly queue: SDKUserMessage[] = [];
  private wake: (() => void) | undefined;
  private closed = false;

  push(message: SDKUserMessage): void {
    this.queue.push(message);
    this.wake?.();
  }

  end(): void {
    this.closed = true;
    this.wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<SDKUserMessage> {
    for (;;) {
      const message = this.queue.shift();
      if (message) {
        yield message;
        continue;
      }
      if (this.closed) return;
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = undefined;
    }
  }
}
