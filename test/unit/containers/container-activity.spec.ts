import { loadConfig } from '../../../src/common/config/load-config';
import { ContainerActivity } from '../../../src/containers/container-activity';
import { ContainerInfo } from '../../../src/docker/docker.types';
import { runningContainer } from '../../support/container-fixtures';

const BOOT = Date.parse('2026-12-01T10:00:00Z');
const MINUTE = 60_000;

function activityWith(idleStopMs: number): ContainerActivity {
  const config = loadConfig({ API_TOKEN: 'a'.repeat(32), IDLE_STOP_MS: String(idleStopMs) });
  return new ContainerActivity(config);
}

const startedAt = (ms: number): ContainerInfo => ({
  ...runningContainer,
  startedAt: new Date(ms).toISOString(),
});

describe('ContainerActivity: what holds a container, and since when it is idle', () => {
  beforeEach(() => jest.useFakeTimers({ now: BOOT }));
  afterEach(() => jest.useRealTimers());

  it('counts a container started before the boot as idle since the boot, and due IDLE_STOP_MS later', () => {
    const activity = activityWith(30 * MINUTE);
    const since = activity.idleSince('dev', startedAt(BOOT - 60 * MINUTE));
    expect(since).toBe(BOOT);
    expect(activity.stopAt(since)).toBe(BOOT + 30 * MINUTE);
  });

  it('counts from a later start of the container', () => {
    const activity = activityWith(MINUTE);
    expect(activity.idleSince('dev', startedAt(BOOT + 5 * MINUTE))).toBe(BOOT + 5 * MINUTE);
  });

  it('is not idle while any hold lasts, and idle from when the last one is let go', () => {
    const activity = activityWith(MINUTE);
    const idle: string[] = [];
    activity.onIdle((env) => idle.push(env));
    const info = startedAt(BOOT);
    const first = activity.hold('dev');
    const second = activity.hold('dev');
    jest.setSystemTime(BOOT + 2 * MINUTE);
    first();
    first();
    expect(activity.idleSince('dev', info)).toBeNull();
    expect(idle).toEqual([]);
    jest.setSystemTime(BOOT + 3 * MINUTE);
    second();
    expect(activity.idleSince('dev', info)).toBe(BOOT + 3 * MINUTE);
    expect(idle).toEqual(['dev']);
    // Another environment's container was never held.
    expect(activity.idleSince('staging', info)).toBe(BOOT);
  });

  it('is never idle when the container does not run, and never due when IDLE_STOP_MS is 0', () => {
    expect(activityWith(MINUTE).idleSince('dev', null)).toBeNull();
    expect(
      activityWith(MINUTE).idleSince('dev', { ...runningContainer, running: false }),
    ).toBeNull();
    const off = activityWith(0);
    const since = off.idleSince('dev', startedAt(BOOT));
    expect(since).toBe(BOOT);
    expect(off.stopAt(since)).toBeNull();
  });

  it("counts only this process's holds until told of every replica's runs; a run seen elsewhere makes the container used just now", async () => {
    const activity = activityWith(MINUTE);
    const info = startedAt(BOOT);
    expect(await activity.usedByAnyReplica('dev')).toBe(false);

    const inFlight = new Set(['dev']);
    activity.countRunsOfAllReplicas((env) => Promise.resolve(inFlight.has(env)));
    jest.setSystemTime(BOOT + 5 * MINUTE);
    expect(await activity.usedByAnyReplica('staging')).toBe(false);
    expect(activity.idleSince('staging', info)).toBe(BOOT);
    expect(await activity.usedByAnyReplica('dev')).toBe(true);
    expect(activity.idleSince('dev', info)).toBe(BOOT + 5 * MINUTE);
    expect(activity.stopAt(activity.idleSince('dev', info))).toBe(BOOT + 6 * MINUTE);

    inFlight.clear();
    jest.setSystemTime(BOOT + 7 * MINUTE);
    expect(await activity.usedByAnyReplica('dev')).toBe(false);
    expect(activity.idleSince('dev', info)).toBe(BOOT + 5 * MINUTE);
  });
});
