import { SpareCli, SpareProcesses } from '../../../src/agent/spare-processes';

class FakeSpare implements SpareCli {
  dead = false;
  closes = 0;

  close(): Promise<void> {
    this.closes += 1;
    return Promise.resolve();
  }
}

/** Spares whose starts the test settles: each start waits in `starts` until told. */
function spares(target = 2) {
  const starts: { resolve: (spare: FakeSpare) => void; reject: (error: Error) => void }[] = [];
  const set = new SpareProcesses<FakeSpare>(
    () => target,
    () => new Promise<FakeSpare>((resolve, reject) => starts.push({ resolve, reject })),
  );
  const started = async (): Promise<FakeSpare> => {
    const spare = new FakeSpare();
    starts.shift()?.resolve(spare);
    await Promise.resolve();
    await Promise.resolve();
    return spare;
  };
  return { set, starts, started };
}

describe('SpareProcesses', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('starts the target once the container runs, and one more a moment after each take', async () => {
    const { set, starts, started } = spares(2);
    expect(set.take('c')).toBeNull();
    set.running('c');
    set.running('c');
    expect(starts).toHaveLength(2);
    const first = await started();
    await started();
    expect(set.ready('c')).toBe(2);
    expect(set.take('c')).toBe(first);
    // A moment later, not beside the first turn of the session that took it.
    expect(starts).toHaveLength(0);
    await jest.advanceTimersByTimeAsync(1000);
    expect(starts).toHaveLength(1);
  });

  it('never hands out a spare that died, and starts another in its place', async () => {
    const { set, starts, started } = spares(1);
    set.running('c');
    const spare = await started();
    spare.dead = true;
    expect(set.take('c')).toBeNull();
    expect(starts).toHaveLength(1);
  });

  it('replaces a spare that died a moment after its death is told, not at once', async () => {
    const { set, starts, started } = spares(1);
    set.running('c');
    const spare = await started();
    spare.dead = true;
    set.refill('c');
    expect(starts).toHaveLength(0);
    await jest.advanceTimersByTimeAsync(1000);
    expect(starts).toHaveLength(1);
  });

  it('retries a failed start with a growing delay, and never throws', async () => {
    const { set, starts } = spares(1);
    set.running('c');
    starts.shift()?.reject(new Error('container not running'));
    await jest.advanceTimersByTimeAsync(999);
    expect(starts).toHaveLength(0);
    await jest.advanceTimersByTimeAsync(1);
    expect(starts).toHaveLength(1);
    starts.shift()?.reject(new Error('again'));
    await jest.advanceTimersByTimeAsync(1999);
    expect(starts).toHaveLength(0);
    await jest.advanceTimersByTimeAsync(1);
    expect(starts).toHaveLength(1);
  });

  it('closes the spares of a stopped container and starts none there until it runs again', async () => {
    const { set, starts, started } = spares(1);
    set.running('c');
    const spare = await started();
    set.stopped('c');
    expect(spare.closes).toBe(1);
    expect(set.take('c')).toBeNull();
    set.refill('c');
    await jest.advanceTimersByTimeAsync(5000);
    expect(starts).toHaveLength(0);
    set.running('c');
    expect(starts).toHaveLength(1);
  });

  it('closes a spare whose start ends after the shutdown', async () => {
    const { set, started } = spares(1);
    set.running('c');
    await set.closeAll();
    const late = await started();
    expect(late.closes).toBe(1);
    expect(set.ready('c')).toBe(0);
  });
});
