/**
 * The time, where a test must move it rather than wait: a scoped token's expiry is checked against
 * it. Milliseconds since the epoch.
 */
export abstract class Clock {
  abstract now(): number;
}

export class SystemClock extends Clock {
  now(): number {
    return Date.now();
  }
}
