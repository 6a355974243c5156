/**
 * What LifeOS's ThreadSidebar does with the threads: this environment's, newest first by
 * `updatedAt.getTime()`, with a relative time and the message count.
 */
import type { ClaudeCodeSession } from '@/lib/contexts/claudecode-session';

export interface ThreadRow {
  id: string;
  title: string;
  when: string;
  messages: string | null;
  active: boolean;
}

export function threadRows(session: ClaudeCodeSession, now = new Date()): ThreadRow[] {
  const { threads, environment, activeThreadId } = session.state;
  return threads
    .filter((thread) => thread.environment === environment)
    .sort((a, b) => b.updatedAt.getTime() - a.updatedAt.getTime())
    .map((thread) => ({
      id: thread.id,
      title: thread.title,
      when: relativeTime(thread.updatedAt, now),
      messages: thread.messageCount > 0 ? `${thread.messageCount} messages` : null,
      active: thread.id === activeThreadId,
    }));
}

function relativeTime(date: Date, now: Date): string {
  const minutes = Math.floor((now.getTime() - date.getTime()) / 60_000);
  if (minutes < 1) return 'just now';
  if (minutes < 60) return `${minutes}m ago`;
  if (minutes < 24 * 60) return `${Math.floor(minutes / 60)}h ago`;
  return date.toLocaleDateString();
}
