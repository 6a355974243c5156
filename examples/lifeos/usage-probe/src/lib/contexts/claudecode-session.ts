/**
 * The usage probe's stand-in for LifeOS's ClaudeCodeContext: the same calls into the service,
 * with the same argument shapes and the same uses of what comes back, as plain state and async
 * actions instead of React hooks. It is only type-checked (`npm run check`), never run: it proves
 * LifeOS's code compiles against the adapter.
 */
import {
  checkDockerAvailable,
  createContainer,
  createSession,
  deleteSession,
  executePrompt,
  getContainerStatus,
  listSessions,
  removeContainer,
  startContainer,
  stopContainer,
  type ClaudeCodeResult,
  type ContainerStatus,
  type ConversationThread,
  type Environment,
} from '@/lib/services/claudecode';

/** A prompt and its result, kept per thread. */
export interface PromptRecord {
  id: string;
  at: Date;
  prompt: string;
  result: ClaudeCodeResult;
  environment: Environment;
  threadId: string;
}

/** LifeOS extends the service's thread with a count it keeps itself. */
export interface KnownThread extends ConversationThread {
  messageCount: number;
}

export interface ClaudeCodeSessionState {
  environment: Environment;
  containerStatus: ContainerStatus | null;
  dockerAvailable: boolean | null;
  jsonDebugMode: boolean;
  activeThreadId: string | null;
  threads: KnownThread[];
  records: PromptRecord[];
  error: string | null;
}

const UNTITLED = 'New Conversation';

export function createClaudeCodeSession(environment: Environment = 'dev') {
  const state: ClaudeCodeSessionState = {
    environment,
    containerStatus: null,
    dockerAvailable: null,
    jsonDebugMode: false,
    activeThreadId: null,
    threads: [],
    records: [],
    error: null,
  };

  const refreshContainerStatus = async (): Promise<void> => {
    state.containerStatus = await getContainerStatus(state.environment);
  };

  /** A container action, then the status; a failure becomes the error banner. */
  const containerAction = async (label: string, action: () => Promise<void>): Promise<void> => {
    state.error = null;
    try {
      await action();
      await refreshContainerStatus();
    } catch (err) {
      state.error = `Failed to ${label}: ${String(err)}`;
    }
  };

  const refreshThreads = async (): Promise<void> => {
    if (!state.containerStatus?.running) return;
    const remote = await listSessions(state.environment);
    const counted = new Map(state.threads.map((thread) => [thread.id, thread.messageCount]));
    const others = state.threads.filter((thread) => thread.environment !== state.environment);
    state.threads = [
      ...others,
      ...remote.map((thread) => ({ ...thread, messageCount: counted.get(thread.id) || 0 })),
    ];
  };

  const createThread = async (): Promise<string | null> => {
    const sessionId = await createSession(state.environment);
    if (!sessionId) return null;
    state.threads.push({
      id: sessionId,
      environment: state.environment,
      title: UNTITLED,
      createdAt: new Date(),
      updatedAt: new Date(),
      messageCount: 1,
    });
    state.activeThreadId = sessionId;
    return sessionId;
  };

  const deleteThread = async (threadId: string): Promise<void> => {
    const deleted = await deleteSession(state.environment, threadId);
    if (!deleted) return;
    state.threads = state.threads.filter((thread) => thread.id !== threadId);
    state.records = state.records.filter((record) => record.threadId !== threadId);
    if (state.activeThreadId === threadId) state.activeThreadId = null;
  };

  const execute = async (prompt: string): Promise<ClaudeCodeResult> => {
    const threadId = state.activeThreadId ?? (await createThread());
    if (!threadId) return { success: false, error: 'Failed to create conversation thread' };
    const result = await executePrompt(state.environment, prompt, state.jsonDebugMode, threadId);
    state.records.push({
      id: crypto.randomUUID(),
      at: new Date(),
      prompt,
      result,
      environment: state.environment,
      threadId,
    });
    state.threads = state.threads.map((thread) =>
      thread.id === threadId
        ? {
            ...thread,
            title: thread.title === UNTITLED ? prompt.slice(0, 50) : thread.title,
            updatedAt: new Date(),
            messageCount: thread.messageCount + 1,
          }
        : thread,
    );
    if (!result.success && result.error) state.error = result.error;
    return result;
  };

  return {
    state,
    async checkDocker(): Promise<void> {
      state.dockerAvailable = await checkDockerAvailable();
      if (state.dockerAvailable) await refreshContainerStatus();
    },
    setEnvironment(next: Environment): void {
      state.environment = next;
    },
    refreshContainerStatus,
    refreshThreads,
    startContainerAction: () =>
      containerAction('start container', () => startContainer(state.environment)),
    stopContainerAction: () =>
      containerAction('stop container', () => stopContainer(state.environment)),
    createContainerAction: (mcpConfigPath: string) =>
      containerAction('create container', () => createContainer(state.environment, mcpConfigPath)),
    removeContainerAction: () =>
      containerAction('remove container', () => removeContainer(state.environment)),
    createThread,
    deleteThread,
    execute,
  };
}

export type ClaudeCodeSession = ReturnType<typeof createClaudeCodeSession>;
