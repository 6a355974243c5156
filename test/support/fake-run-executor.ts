import type {
  PermissionUpdate,
  SDKMessage,
  SDKResultMessage,
} from '@anthropic-ai/claude-agent-sdk';
import {
  ApprovalAnswer,
  McpServerReport,
  RunExecutor,
  RunOutcome,
  RunRequest,
} from '../../src/agent/run-executor';

/** One `run()` call, driven by the test: it emits messages and ends when told to. */
export class FakeRun {
  /** What `run()` answers, once the run has ended. */
  readonly outcome: Promise<RunOutcome>;
  /** Resolves once the run's signal is aborted (cancel, shutdown). */
  readonly aborted: Promise<void>;
  private settle: (outcome: RunOutcome) => void = () => undefined;
  private ended = false;

  constructor(readonly request: RunRequest) {
    this.outcome = new Promise((resolve) => (this.settle = resolve));
    this.aborted = new Promise((resolve) => {
      if (request.signal?.aborted) resolve();
      request.signal?.addEventListener('abort', () => resolve(), { once: true });
    });
    // As the real runner does, but at once: an abort interrupts the CLI (killed after
    // CANCEL_GRACE_MS if it lingers) and the run ends `cancelled`.
    void this.aborted.then(() => this.finish({ end: 'cancelled', exitCode: null }));
  }

  get isAborted(): boolean {
    return this.request.signal?.aborted === true;
  }

  /** Hands a message to the service, as the CLI's stream would. */
  emit(message: SDKMessage): void {
    if (this.ended) throw new Error(`run ${this.request.runId} has already ended`);
    this.request.onMessage?.(message);
  }

  /**
   * Asks for a tool use as the CLI's `canUseTool` would, and resolves with the answer. The ask's
   * signal aborts when the run does, as the SDK's does when the CLI stops waiting.
   */
  askApproval(
    tool: string,
    input: Record<string, unknown>,
    suggestions: PermissionUpdate[] = [],
  ): Promise<ApprovalAnswer> {
    const { askApproval, signal } = this.request;
    if (!askApproval) throw new Error(`run ${this.request.runId} was not given askApproval`);
    const ask = { tool, input, suggestions, toolUseId: `toolu_${tool}` };
    return askApproval(ask, signal ?? new AbortController().signal);
  }

  /** Ends the run with `outcome` (see `runOutcome`); a run that has ended stays as it was. */
  finish(outcome: Partial<RunOutcome> = {}): void {
    if (this.ended) return;
    this.ended = true;
    this.settle(runOutcome(outcome));
  }

  /** Ends the run with the CLI's success result for `text`. */
  succeed(text: string): void {
    this.emit(resultMessage(text));
    this.finish({ result: resultMessage(text), output: text });
  }
}

/**
 * A RunExecutor the test drives: every `run()` becomes a FakeRun the test can wait for, feed
 * messages through `onMessage` and end; `kill()` calls are recorded. Nothing runs on a timer.
 */
export class FakeRunExecutor extends RunExecutor {
  readonly runs: FakeRun[] = [];
  readonly kills: { containerName: string; runId: string }[] = [];
  private readonly waiters: {
    matches: (run: FakeRun) => boolean;
    resolve: (run: FakeRun) => void;
  }[] = [];

  run(request: RunRequest): Promise<RunOutcome> {
    const run = new FakeRun(request);
    this.runs.push(run);
    for (const waiter of this.waiters.filter((w) => w.matches(run))) {
      this.waiters.splice(this.waiters.indexOf(waiter), 1);
      waiter.resolve(run);
    }
    return run.outcome;
  }

  kill(containerName: string, runId: string): Promise<void> {
    this.kills.push({ containerName, runId });
    return Promise.resolve();
  }

  /** What `mcpServerStatus` answers, for any container; the containers it was asked about. */
  mcpServers: McpServerReport[] = [];
  readonly mcpStatusReads: string[] = [];

  mcpServerStatus(containerName: string): Promise<McpServerReport[]> {
    this.mcpStatusReads.push(containerName);
    return Promise.resolve(this.mcpServers);
  }

  /** Resolves when the execution `runId` reaches the runner. */
  runOf(runId: string): Promise<FakeRun> {
    return this.waitFor((run) => run.request.runId === runId);
  }

  /** Resolves with the `index`-th run (from 0) the runner was given. */
  runAt(index: number): Promise<FakeRun> {
    return this.waitFor((run) => this.runs.indexOf(run) === index);
  }

  /** The ids of the executions that reached the runner, in the order they did. */
  get runIds(): string[] {
    return this.runs.map((run) => run.request.runId);
  }

  /** Ends every run still open, so an app whose test failed midway can still shut down. */
  endAll(): void {
    for (const run of this.runs) run.finish({ end: 'cancelled', exitCode: null });
  }

  private waitFor(matches: (run: FakeRun) => boolean): Promise<FakeRun> {
    const found = this.runs.find(matches);
    if (found) return Promise.resolve(found);
    return new Promise((resolve) => this.waiters.push({ matches, resolve }));
  }
}

/** A run that ended with exit code 0 and nothing else to say, but for `overrides`. */
export function runOutcome(overrides: Partial<RunOutcome> = {}): RunOutcome {
  return {
    end: 'result',
    result: null,
    output: '',
    truncated: false,
    exitCode: 0,
    stderrTail: '',
    ...overrides,
  };
}

/** An assistant message as the SDK streams it. */
export function assistantMessage(text: string, sessionId = 'fake-session'): SDKMessage {
  return {
    type: 'assistant',
    message: { role: 'assistant', content: [{ type: 'text', text }] },
    parent_tool_use_id: null,
    session_id: sessionId,
  } as unknown as SDKMessage;
}

/** The CLI's result message for a successful turn answering `text`. */
export function resultMessage(text: string, sessionId = 'fake-session'): SDKResultMessage {
  return {
    type: 'result',
    subtype: 'success',
    is_error: false,
    result: text,
    session_id: sessionId,
    total_cost_usd: 0.01,
    usage: { input_tokens: 3, output_tokens: 5 },
  } as unknown as SDKResultMessage;
}
