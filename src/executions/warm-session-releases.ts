import { HttpStatus, Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { RunExecutor } from '../agent/run-executor';
import { ReplicaBus, stringFieldsChannel } from '../common/coordination/replica-bus';
import { ApiError } from '../common/errors/api-error';
import { ErrorCode } from '../common/errors/error-codes';

/** A turn of the session starts on the sender. */
export const SESSION_TURN_STARTING = stringFieldsChannel('sessions.turnStarting', [
  'containerName',
  'sessionId',
]);

/**
 * A warm CLI knows its session's turns up to its own last one: once a turn of the session runs
 * on another replica, it is behind, and its next turn would miss that one. So before a turn's
 * CLI starts, the other replicas are told, and close their warm CLI of the session (a turn there
 * later runs cold, resuming the transcript). A turn starts only once they have been told: while
 * this replica's link is down (it may have missed their turns too) or the message cannot be
 * sent, the run fails with 503 REPLICA_UNREACHABLE; after a lost link, every idle warm CLI here
 * is closed, since what was missed is unknown. Without REDIS_URL there is nobody to tell.
 */
@Injectable()
export class WarmSessionReleases implements OnModuleInit, OnModuleDestroy {
  private stopListening: () => Promise<void> = () => Promise.resolve();

  constructor(
    private readonly bus: ReplicaBus,
    private readonly executor: RunExecutor,
  ) {}

  async onModuleInit(): Promise<void> {
    if (!this.bus.shared) return;
    const stop = await this.bus.subscribe(SESSION_TURN_STARTING, (turn, from) => {
      if (from !== this.bus.replicaId) {
        void this.executor.closeWarmSession(turn.containerName, turn.sessionId);
      }
    });
    const stopResync = this.bus.onReconnect(() => void this.executor.closeWarmSessions());
    this.stopListening = async () => {
      stopResync();
      await stop();
    };
  }

  async onModuleDestroy(): Promise<void> {
    await this.stopListening();
  }

  /** Tells the other replicas that a turn of the session starts here; throws when it cannot. */
  async turnStarting(containerName: string, sessionId: string): Promise<void> {
    if (!this.bus.shared) return;
    if (!this.bus.connected) throw notTold('this replica has lost its link to Redis');
    try {
      await this.bus.publish(SESSION_TURN_STARTING, { containerName, sessionId });
    } catch (error) {
      throw notTold((error as Error).message);
    }
  }
}

function notTold(reason: string): ApiError {
  return new ApiError(
    HttpStatus.SERVICE_UNAVAILABLE,
    ErrorCode.REPLICA_UNREACHABLE,
    `The other replicas could not be told that the session's turn starts here (${reason}); retry shortly`,
  );
}
