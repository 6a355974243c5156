import { Injectable } from '@nestjs/common';
import { sessionBusy } from './sessions.errors';

/**
 * Which sessions have a run in flight, and how many runs each environment has. One run per
 * session at a time: two CLIs appending to one transcript corrupt it.
 */
@Injectable()
export class RunRegistry {
  private readonly busySessions = new Set<string>();
  private readonly runsPerEnv = new Map<string, number>();
  private readonly holdListeners: ((env: string) => void)[] = [];
  private runsElsewhere: SessionRunsElsewhere = () => Promise.resolve(false);

  isSessionRunning(env: string, sessionId: string): boolean {
    return this.busySessions.has(key(env, sessionId));
  }

  runningCount(env: string): number {
    return this.runsPerEnv.get(env) ?? 0;
  }

  /**
   * Claims the session and one of the environment's run slots, or throws 409 SESSION_BUSY. The
   * queue decides when a slot is free. The returned function releases both; calling it again
   * does nothing.
   */
  claim(env: string, sessionId: string): () => void {
    const releaseSession = this.take(env, sessionId);
    this.runsPerEnv.set(env, this.runningCount(env) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      releaseSession();
      this.runsPerEnv.set(env, this.runningCount(env) - 1);
    };
  }

  /** Throws 409 SESSION_BUSY while the session is held; holds nothing itself. */
  checkNotRunning(env: string, sessionId: string): void {
    if (this.isSessionRunning(env, sessionId)) throw sessionBusy(sessionId);
  }

  /**
   * Throws 409 SESSION_BUSY while another replica runs the session. This replica's own runs are
   * checked by `checkNotRunning` and `holdSession`; with one replica there is no other.
   */
  async checkNotRunningElsewhere(env: string, sessionId: string): Promise<void> {
    if (await this.runsElsewhere(env, sessionId)) throw sessionBusy(sessionId);
  }

  /** With replicas, how to learn that another one runs a session (the shared queue knows). */
  seeRunsElsewhere(check: SessionRunsElsewhere): void {
    this.runsElsewhere = check;
  }

  /**
   * Holds the session without taking a run slot (while its files are deleted, say), or throws
   * 409 SESSION_BUSY. The returned function releases it.
   */
  holdSession(env: string, sessionId: string): () => void {
    const release = this.take(env, sessionId);
    return () => {
      if (!release()) return;
      for (const listener of this.holdListeners) listener(env);
    };
  }

  /**
   * Calls `listener` with the environment each time a hold (not a run's claim) ends: a run that
   * waited for the held session can start now, and no run's end would say so.
   */
  onHoldReleased(listener: (env: string) => void): void {
    this.holdListeners.push(listener);
  }

  /** Marks the session busy; the returned function frees it, true the first time. */
  private take(env: string, sessionId: string): () => boolean {
    this.checkNotRunning(env, sessionId);
    const sessionKey = key(env, sessionId);
    this.busySessions.add(sessionKey);
    return () => this.busySessions.delete(sessionKey);
  }
}

/** Whether a replica other than this one runs the session now. */
export type SessionRunsElsewhere = (env: string, sessionId: string) => Promise<boolean>;

function key(env: string, sessionId: string): string {
  return `${env}\u0000${sessionId}`;
}
