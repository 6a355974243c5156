import { HttpStatus, Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { ApiError } from '../errors/api-error';
import { ErrorCode } from '../errors/error-codes';
import { METRIC_PREFIX, Metrics } from '../metrics/metrics';

/**
 * Counts the open event streams, per token and in all, and refuses one past either cap with
 * 429 TOO_MANY_STREAMS. Each stream holds a socket, a subscription and a bounded buffer for as
 * long as its client keeps it open, so their number is what bounds what streaming can cost.
 */
@Injectable()
export class StreamSlots {
  private readonly perHolder = new Map<string, number>();
  private total = 0;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    metrics: Metrics,
  ) {
    const open = () => this.total;
    metrics.gauge({
      name: `${METRIC_PREFIX}open_streams`,
      help: 'Event streams (SSE) open now, against SSE_MAX_STREAMS',
      collect() {
        this.set(open());
      },
    });
  }

  /** Takes a slot for `holder` (a token id) or throws; the answer gives it back, once. */
  acquire(holder: string): () => void {
    const { maxStreams, maxStreamsPerToken } = this.config.history;
    const held = this.perHolder.get(holder) ?? 0;
    if (held >= maxStreamsPerToken) {
      throw tooManyStreams(
        `This token has ${held} event streams open (SSE_MAX_STREAMS_PER_TOKEN); close one first`,
      );
    }
    if (this.total >= maxStreams) {
      throw tooManyStreams(
        `The service has ${this.total} event streams open (SSE_MAX_STREAMS); retry shortly`,
      );
    }
    this.perHolder.set(holder, held + 1);
    this.total += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.total -= 1;
      const left = (this.perHolder.get(holder) ?? 1) - 1;
      if (left > 0) this.perHolder.set(holder, left);
      else this.perHolder.delete(holder);
    };
  }
}

function tooManyStreams(message: string): ApiError {
  return new ApiError(HttpStatus.TOO_MANY_REQUESTS, ErrorCode.TOO_MANY_STREAMS, message, {
    headers: { 'Retry-After': '5' },
  });
}
