import type {
  McpServerStatus,
  PermissionUpdate,
  SDKMessage,
  SDKResultMessage,
} from '@anthropic-ai/claude-agent-sdk';
import { PermissionMode } from '../common/config/permission-mode';
import { LimitHit } from './limit-report';

/**
 * What a prompt asks of the CLI. The API's request DTO, the stored request and the runner all
 * share this one shape.
 */
export interface PromptOptions {
  prompt: string;
  model?: string;
  maxTurns?: number;
  allowedTools?: string[];
  disallowedTools?: string[];
  permissionMode?: PermissionMode;
  appendSystemPrompt?: string;
  /** Also stream token deltas (`stream_event` messages). */
  includePartialMessages?: boolean;
  /**
   * Ask a person through the API before a tool use that the permission mode and `allowedTools`
   * do not already allow, instead of letting the CLI deny it.
   */
  approvals?: boolean;
  /**
   * Stop the run once it has spent this many US dollars (the CLI's estimate, `maxBudgetUsd`): it
   * ends with the CLI's `error_max_budget_usd` result.
   */
  maxBudgetUsd?: number;
  /**
   * A JSON Schema of an object the answer must conform to (the SDK's `outputFormat`): the CLI
   * offers the model a tool to answer with, validates its input and puts the object in the
   * result's `structured_output`.
   */
  outputSchema?: Record<string, unknown>;
}

/**
 * A tool use the CLI asks permission for (the SDK's `canUseTool`). `AskUserQuestion` comes this
 * way too: its input holds the questions, and an allow's `updatedInput` carries the answers.
 */
export interface ApprovalAsk {
  tool: string;
  input: Record<string, unknown>;
  /** Permission updates that would stop the CLI asking again this session (the SDK's own). */
  suggestions: PermissionUpdate[];
  toolUseId: string;
  /** The CLI's own sentence for the ask, e.g. "Claude wants to run rm -rf build/". */
  title?: string;
}

/**
 * A person's answer, as the SDK takes it: a deny never runs the tool. `updatedPermissions` are
 * rules the CLI applies from then on (so it stops asking for that kind of tool use).
 */
export type ApprovalAnswer =
  | {
      behavior: 'allow';
      updatedInput?: Record<string, unknown>;
      updatedPermissions?: PermissionUpdate[];
    }
  | { behavior: 'deny'; message: string };

/** One prompt, fully resolved: which container, which session, which limits. */
export interface RunRequest extends PromptOptions {
  runId: string;
  containerName: string;
  sessionId: string;
  /** Continue an existing transcript (`--resume`) instead of starting one (`--session-id`). */
  resume: boolean;
  deadlineMs: number;
  maxOutputBytes: number;
  /** Aborting it interrupts the run: the turn is interrupted, then the CLI killed after a grace. */
  signal?: AbortSignal;
  /** Called with every message of the run, as it arrives. */
  onMessage?: (message: SDKMessage) => void;
  /**
   * With `approvals`, asked before each tool use the CLI wants permission for; `signal` aborts
   * when the CLI no longer waits. Anything but an allow, a throw included, denies the tool.
   */
  askApproval?: (ask: ApprovalAsk, signal: AbortSignal) => Promise<ApprovalAnswer>;
}

export type RunEnd = 'result' | 'timeout' | 'output_limit' | 'cancelled' | 'exited';

export interface RunOutcome {
  end: RunEnd;
  /** The CLI's result message, when it sent one. */
  result: SDKResultMessage | null;
  /** The answer text, cut at `maxOutputBytes`. */
  output: string;
  truncated: boolean;
  exitCode: number | null;
  /** The tail of the CLI's stderr, for error messages. */
  stderrTail: string;
  /** Set when the run failed before or outside the CLI's own result. */
  failure?: string;
  /**
   * A limit of the environment's container that was hit while the run lasted (a process
   * OOM-killed, a fork refused, /tmp full). The limits are the container's, so a run that shared
   * it at the time is told too.
   */
  limit?: LimitHit;
}

/**
 * One MCP server as a Claude Code process sees it: never its settings (they may hold secrets),
 * and its error redacted.
 */
export interface McpServerReport {
  name: string;
  /** `stdio`, `http`, `sse`, or another transport of the CLI's own (`sdk`, `claudeai-proxy`). */
  transport: string;
  status: McpServerStatus['status'];
  error?: string;
  tools: { name: string; description?: string }[];
}

/**
 * Runs prompts in an environment's container. The executions feature depends on this interface
 * only (PooledRunExecutor keeps CLIs warm behind it), and tests can fake it.
 */
export abstract class RunExecutor {
  abstract run(request: RunRequest): Promise<RunOutcome>;
  /**
   * Kills whatever is left of a run in the container (a CLI orphaned by a crash of the service, or
   * of the replica `ownerReplica` that ran it: a warm CLI it served is killed with the others of
   * that replica; with no owner known, with those of every service but this one).
   */
  abstract kill(containerName: string, runId: string, ownerReplica?: string | null): Promise<void>;

  /**
   * The MCP servers of the running container as a Claude Code process there reports them (the
   * SDK's `mcpServerStatus()`); no prompt is sent, so the model is never called.
   */
  abstract mcpServerStatus(containerName: string): Promise<McpServerReport[]>;

  /**
   * Closes the session's warm CLI, if one is kept and idle: a turn of the session ran elsewhere,
   * so it is behind.
   */
  closeWarmSession(_containerName: string, _sessionId: string): Promise<void> {
    return Promise.resolve();
  }

  /** Closes every idle warm CLI (this replica may have missed turns run elsewhere). */
  closeWarmSessions(): Promise<void> {
    return Promise.resolve();
  }

  /** Told whenever a container is seen running or not, so what a runner keeps there follows. */
  containerRunning(_containerName: string, _running: boolean): void {}

  /**
   * The id of a session whose CLI is already started (a spare), for a new session that asks
   * for `options`; null when there is none. Its first run then skips the CLI's start.
   */
  takeSpareSessionId(
    _containerName: string,
    _options: Omit<PromptOptions, 'prompt'>,
  ): string | null {
    return null;
  }
}
