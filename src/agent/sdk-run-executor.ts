import type {
  CanUseTool,
  Options,
  PermissionResult,
  SpawnOptions,
  SDKMessage,
  SDKResultMessage,
  SDKUserMessage,
} from '@anthropic-ai/claude-agent-sdk';
import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { APP_CONFIG, AppConfig } from '../common/config/app-config';
import { PermissionMode } from '../common/config/permission-mode';
import { DockerProcess } from '../docker/docker-process';
import { DockerService } from '../docker/docker.service';
import { AGENT_USER } from './agent-layout';
import { agentMcp, SecretRedactor } from './agent-mcp';
import { LimitHit, readLimitReport, withLimitReport } from './limit-report';
import { loadAgentSdk } from './agent-sdk.loader';
import { MCP_STATUS_DEADLINE_MS, mcpReports, settledMcpStatus } from './mcp-status';
import {
  ApprovalAnswer,
  McpServerReport,
  PromptOptions,
  RunEnd,
  RunExecutor,
  RunOutcome,
  RunRequest,
} from './run-executor';

/** After SIGTERM, how long the CLI gets before SIGKILL. */
export const KILL_GRACE_MS = 2000;
/** How long to wait for the exec to end after the run is over or killed. */
const EXIT_WAIT_MS = 10000;
const STDERR_TAIL_BYTES = 4096;
/** The raw stream repeats the answer (assistant message, result); this bounds it in memory. */
const RAW_STREAM_FACTOR = 4;
const RAW_STREAM_SLACK_BYTES = 1024 * 1024;

/**
 * Runs each prompt as a fresh Claude Code process through the Agent SDK, whose
 * `spawnClaudeCodeProcess` hook starts the CLI with `docker exec` in the environment's container.
 * The prompt travels over stdin as a stream-json message, so argv limits do not apply.
 */
@Injectable()
export class SdkRunExecutor extends RunExecutor {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly docker: DockerService,
  ) {
    super();
  }

  async run(request: RunRequest): Promise<RunOutcome> {
    const { query } = await loadAgentSdk();
    const abortController = new AbortController();
    const state = new RunState(
      request.maxOutputBytes,
      agentMcp(this.config, request.containerName).redactor,
    );
    let process: DockerProcess | undefined;

    const kill = () => {
      if (!process) return;
      const running = process;
      running.kill('SIGTERM');
      setTimeout(() => running.kill('SIGKILL'), KILL_GRACE_MS).unref();
    };
    const deadline = setTimeout(() => {
      state.end ??= 'timeout';
      abortController.abort();
      kill();
    }, request.deadlineMs);

    const options: Options = {
      ...cliOptions(this.config, request.containerName, request, request, request.askApproval),
      abortController,
      spawnClaudeCodeProcess: (spawn) => {
        process = spawnCli(this.docker, this.config, request.containerName, request.runId, spawn);
        const turn = { state, rawLimit: rawStreamLimit(request.maxOutputBytes) };
        watchCliOutput(
          process,
          () => turn,
          () => {
            abortController.abort();
            kill();
          },
        );
        return process;
      },
    };

    const run = query({ prompt: request.prompt, options });
    const cancel = () => {
      state.end ??= 'cancelled';
      // The SDK's interrupt ends the turn cleanly and keeps the transcript resumable; a CLI
      // that does not stop within the grace period is killed.
      run.interrupt().catch(() => undefined);
      setTimeout(kill, this.config.execution.cancelGraceMs).unref();
    };
    if (request.signal?.aborted) cancel();
    request.signal?.addEventListener('abort', cancel, { once: true });
    try {
      for await (const message of run) request.onMessage?.(state.accept(message));
    } catch (error) {
      if (!state.end) state.failure = errorMessage(error);
    } finally {
      clearTimeout(deadline);
      request.signal?.removeEventListener('abort', cancel);
    }
    const exitCode = await waitForExit(process, kill);
    return state.outcome(exitCode);
  }

  async kill(containerName: string, runId: string): Promise<void> {
    await this.docker.signalRun(containerName, runId, 'SIGKILL', AGENT_USER);
  }

  /**
   * Read through a CLI started for the read alone and closed after it. It is sent no message,
   * so only its start and its servers' connections are waited for, never the model.
   */
  async mcpServerStatus(containerName: string): Promise<McpServerReport[]> {
    const { query } = await loadAgentSdk();
    const deadline = Date.now() + MCP_STATUS_DEADLINE_MS;
    const sessionId = randomUUID();
    let process: DockerProcess | undefined;
    let endInput = () => {};
    const inputEnded = new Promise<void>((resolve) => (endInput = resolve));
    const noMessages: AsyncIterable<SDKUserMessage> = {
      [Symbol.asyncIterator]: () => ({
        next: () => inputEnded.then(() => ({ done: true as const, value: undefined })),
      }),
    };
    const cli = query({
      prompt: noMessages,
      options: {
        ...cliOptions(this.config, containerName, {}, { sessionId, resume: false }),
        spawnClaudeCodeProcess: (spawn) => {
          process = spawnCli(this.docker, this.config, containerName, `mcp-${sessionId}`, spawn);
          return process;
        },
      },
    });
    try {
      const statuses = await settledMcpStatus(cli, deadline);
      return mcpReports(statuses, agentMcp(this.config, containerName).redactor);
    } finally {
      endInput();
      cli.close();
      await waitForExit(process, () => process?.kill('SIGKILL'));
    }
  }
}

/**
 * The SDK options of a CLI in `containerName` for `prompt` options in `session` (a fresh
 * transcript, or `resume`); `askApproval` becomes its `canUseTool`.
 */
export function cliOptions(
  config: AppConfig,
  containerName: string,
  prompt: Omit<PromptOptions, 'prompt'>,
  session: { sessionId: string; resume: boolean },
  askApproval?: RunRequest['askApproval'],
): Options {
  const options: Options = {
    // The CLI is on PATH inside the agent image; the API image has none.
    pathToClaudeCodeExecutable: 'claude',
    cwd: config.agent.workdir,
    // Only what AGENT_ENV_* configures: the API's own environment never reaches the agent.
    env: { ...config.agent.env },
    // As `claude -p` does: the user's, the project's and local settings apply. Each is the
    // environment's own (its config and workspace volumes), so a run in one environment never
    // shapes the runs of another.
    settingSources: ['user', 'project', 'local'],
    // The environment's MCP servers travel in the initialize request over stdin: their env and
    // headers stay off the exec's argv (which `docker top` and the engine's logs show).
    mcpServersDelivery: 'initialize',
    includePartialMessages: prompt.includePartialMessages === true,
    model: prompt.model,
    maxTurns: prompt.maxTurns,
    allowedTools: prompt.allowedTools,
    disallowedTools: prompt.disallowedTools,
    permissionMode: prompt.permissionMode,
    allowDangerouslySkipPermissions: prompt.permissionMode === PermissionMode.bypassPermissions,
    maxBudgetUsd: prompt.maxBudgetUsd,
  };
  const { servers } = agentMcp(config, containerName);
  if (Object.keys(servers).length > 0) {
    options.mcpServers = servers;
  }
  if (prompt.outputSchema) {
    options.outputFormat = { type: 'json_schema', schema: prompt.outputSchema };
  }
  if (askApproval) options.canUseTool = canUseTool(askApproval);
  if (session.resume) options.resume = session.sessionId;
  else options.sessionId = session.sessionId;
  if (prompt.appendSystemPrompt) {
    options.systemPrompt = {
      type: 'preset',
      preset: 'claude_code',
      append: prompt.appendSystemPrompt,
    };
  }
  return options;
}

/**
 * Starts the CLI of `spawn` in the container, under the limits report, as the agent user in the
 * workdir; `marker` is what `kill()` finds its processes by.
 */
export function spawnCli(
  docker: DockerService,
  config: AppConfig,
  containerName: string,
  marker: string,
  spawn: SpawnOptions,
): DockerProcess {
  return docker.spawn(containerName, {
    cmd: withLimitReport([spawn.command, ...spawn.args]),
    env: spawn.env,
    user: AGENT_USER,
    workdir: config.agent.workdir,
    runId: marker,
  });
}

/**
 * Counts the CLI's raw output against the limit of the turn in progress, which ends as
 * `output_limit` (then `overLimit` stops it), and keeps the turn's stderr tail.
 */
export function watchCliOutput(
  process: DockerProcess,
  currentTurn: () => { state: RunState; rawLimit: number } | undefined,
  overLimit: () => void,
): void {
  process.stdout.on('data', (chunk: Buffer) => {
    const turn = currentTurn();
    if (turn && turn.state.countRaw(chunk.length) > turn.rawLimit && !turn.state.end) {
      turn.state.end = 'output_limit';
      overLimit();
    }
  });
  process.stderr.on('data', (chunk: Buffer) =>
    currentTurn()?.state.addStderr(chunk.toString('utf8')),
  );
}

/** Past this many bytes of the CLI's raw stream in one run, it is stopped (OUTPUT_LIMIT). */
export function rawStreamLimit(maxOutputBytes: number): number {
  return maxOutputBytes * RAW_STREAM_FACTOR + RAW_STREAM_SLACK_BYTES;
}

/** The exit code, once the exec has ended; a process that lingers is killed. */
export async function waitForExit(
  process: DockerProcess | undefined,
  kill: () => void,
): Promise<number | null> {
  if (!process) return null;
  const timer = setTimeout(kill, EXIT_WAIT_MS);
  try {
    return await process.waitForExit();
  } finally {
    clearTimeout(timer);
  }
}

/** What a run has produced so far. */
export class RunState {
  end: RunEnd | undefined;
  failure: string | undefined;
  private result: SDKResultMessage | null = null;
  private rawBytes = 0;
  private stderrTail = '';

  constructor(
    private readonly maxOutputBytes: number,
    /** Hides the environment's MCP secrets in what the run hands on. */
    private readonly redactor: SecretRedactor = SecretRedactor.none,
  ) {}

  countRaw(bytes: number): number {
    this.rawBytes += bytes;
    return this.rawBytes;
  }

  addStderr(text: string): void {
    this.stderrTail = (this.stderrTail + text).slice(-STDERR_TAIL_BYTES);
  }

  get resultMessage(): SDKResultMessage | null {
    return this.result;
  }

  /** Takes in a message of the CLI and returns it as the run hands it on (redacted). */
  accept(raw: SDKMessage): SDKMessage {
    const message = this.redactor.value(raw);
    if (message.type === 'result') {
      this.result = message;
      this.end ??= 'result';
    }
    return message;
  }

  /** The end of the run; `measuredLimit` (read around the turn) replaces the exit report's hit. */
  outcome(exitCode: number | null, measuredLimit?: LimitHit | null): RunOutcome {
    const text = this.result?.subtype === 'success' ? this.result.result : '';
    const { output, truncated } = cutUtf8(text, this.maxOutputBytes);
    const report = readLimitReport(this.stderrTail);
    if (measuredLimit !== undefined) report.hit = measuredLimit;
    return {
      end: this.end ?? 'exited',
      result: this.result,
      output,
      truncated: truncated || this.end === 'output_limit',
      exitCode,
      stderrTail: this.redactor.text(report.stderr.trim()),
      failure: this.failure === undefined ? undefined : this.redactor.text(this.failure),
      ...(report.hit ? { limit: report.hit } : {}),
    };
  }
}

/** The SDK's `canUseTool` over the API's approvals; it fails closed: any error denies. */
export function canUseTool(askApproval: NonNullable<RunRequest['askApproval']>): CanUseTool {
  return async (tool, input, options): Promise<PermissionResult> => {
    let answer: ApprovalAnswer;
    try {
      answer = await askApproval(
        {
          tool,
          input,
          suggestions: options.suggestions ?? [],
          toolUseId: options.toolUseID,
          ...(options.title ? { title: options.title } : {}),
        },
        options.signal,
      );
    } catch (error) {
      answer = { behavior: 'deny', message: `The approval failed: ${errorMessage(error)}` };
    }
    if (answer.behavior === 'allow') {
      // updatedPermissions, when given, is what "allow for this session" remembers.
      return { ...answer, updatedInput: answer.updatedInput ?? input };
    }
    return { behavior: 'deny', message: answer.message };
  };
}

/** Cuts text to at most `maxBytes` of UTF-8 without splitting a character. */
export function cutUtf8(text: string, maxBytes: number): { output: string; truncated: boolean } {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return { output: text, truncated: false };
  let end = maxBytes;
  // Step back over continuation bytes (10xxxxxx) to a character boundary.
  while (end > 0 && (bytes[end] & 0xc0) === 0x80) end -= 1;
  return { output: bytes.subarray(0, end).toString('utf8'), truncated: true };
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
