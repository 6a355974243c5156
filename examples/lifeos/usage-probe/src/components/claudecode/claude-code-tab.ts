/**
 * What LifeOS's ClaudeCodeTab reads and calls: the environment picker's literals, the container's
 * name and state, and the actions behind its buttons.
 */
import type { Environment } from '@/lib/services/claudecode';
import type { ClaudeCodeSession } from '@/lib/contexts/claudecode-session';

export const ENVIRONMENTS: Environment[] = ['dev', 'staging', 'prod'];

/** The picker hands back a string. */
export function pickEnvironment(session: ClaudeCodeSession, value: string): void {
  session.setEnvironment(value as Environment);
}

export function containerLabel(session: ClaudeCodeSession): string {
  const { containerStatus, environment } = session.state;
  return containerStatus?.name || `claude-agent-${environment}`;
}

export type TabView = 'checking' | 'no-docker' | 'no-container' | 'stopped' | 'ready';

export function tabView(session: ClaudeCodeSession): TabView {
  const { dockerAvailable, containerStatus } = session.state;
  if (dockerAvailable === null) return 'checking';
  if (dockerAvailable === false) return 'no-docker';
  if (!containerStatus?.exists) return 'no-container';
  return containerStatus.running ? 'ready' : 'stopped';
}

/** The buttons, in the order a user meets them on a fresh machine. */
export async function firstRun(session: ClaudeCodeSession, mcpConfigPath: string): Promise<void> {
  await session.checkDocker();
  if (tabView(session) === 'no-container') await session.createContainerAction(mcpConfigPath);
  if (tabView(session) === 'stopped') await session.startContainerAction();
  await session.refreshThreads();
  const answer = await session.execute('What is on my agenda today?');
  if (answer.success && answer.json_output) JSON.parse(answer.json_output);
  const active = session.state.activeThreadId;
  if (active) await session.deleteThread(active);
  await session.stopContainerAction();
  await session.removeContainerAction();
}
