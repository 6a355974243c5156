import { PermissionMode } from '../../../src/common/config/permission-mode';
import {
  DEFAULT_PROCESS_KEY,
  PooledCli,
  processKey,
  warmCapacity,
  WarmPool,
} from '../../../src/agent/warm-pool';

const GIB = 1024 ** 3;
const MIB = 1024 ** 2;

/** A CLI the test kills and counts closes of. */
class FakeCli implements PooledCli {
  dead = false;
  turns = 0;
  closes = 0;

  constructor(
    readonly sessionId: string,
    readonly containerName = 'agent-dev',
    readonly key = DEFAULT_PROCESS_KEY,
  ) {}

  close(): Promise<void> {
    this.closes += 1;
    return Promise.resolve();
  }
}

describe('warmCapacity', () => {
  const settings = { perEnv: 4, total: 8, idleMs: 60_000, spares: 2 };

  it('keeps the settings where the memory leaves room: 2 GiB holds 4 warm CLIs and 2 spares', () => {
    expect(warmCapacity(settings, 2 * GIB)).toEqual({ warm: 4, spares: 2 });
  });

  it('keeps fewer in a smaller container, warm sessions first, and none at all below 768 MiB', () => {
    expect(warmCapacity(settings, 1 * GIB)).toEqual({ warm: 2, spares: 0 });
    expect(warmCapacity(settings, 1280 * MIB)).toEqual({ warm: 3, spares: 0 });
    expect(warmCapacity(settings, 512 * MIB)).toEqual({ warm: 0, spares: 0 });
  });

  it('keeps nothing when WARM_SESSIONS_TOTAL is 0, and no spares without warm sessions', () => {
    expect(warmCapacity({ ...settings, total: 0 }, 4 * GIB)).toEqual({ warm: 0, spares: 0 });
    expect(warmCapacity({ ...settings, perEnv: 0 }, 4 * GIB)).toEqual({ warm: 0, spares: 0 });
  });
});

describe('processKey', () => {
  it('is the same for unset and default values, so a spare serves a plain request', () => {
    expect(
      processKey({ permissionMode: PermissionMode.default, appendSystemPrompt: '' }, false),
    ).toBe(DEFAULT_PROCESS_KEY);
  });

  it.each([
    [{ model: 'claude-opus-4' }, false],
    [{ allowedTools: ['Bash'] }, false],
    [{ disallowedTools: ['Bash'] }, false],
    [{ permissionMode: PermissionMode.acceptEdits }, false],
    [{ appendSystemPrompt: 'be brief' }, false],
    [{ includePartialMessages: true }, false],
    [{ maxTurns: 3 }, false],
    [{ maxBudgetUsd: 0.5 }, false],
    [{ outputSchema: { type: 'object' } }, false],
    [{}, true],
  ])('tells %j (approvals %s) from the default', (options, approvals) => {
    expect(processKey(options, approvals)).not.toBe(DEFAULT_PROCESS_KEY);
  });
});

describe('WarmPool', () => {
  let now: number;
  const pool = (perContainer = 2, total = 3, idleMs = 1000) =>
    new WarmPool<FakeCli>(
      () => perContainer,
      total,
      idleMs,
      () => now,
    );

  /** A CLI that has served a turn and is back, idle. */
  const served = (warm: WarmPool<FakeCli>, cli: FakeCli): FakeCli => {
    warm.add(cli);
    cli.turns += 1;
    warm.release(cli);
    return cli;
  };

  beforeEach(() => (now = 0));

  it("gives a session's idle CLI to its next turn when the options match", () => {
    const warm = pool();
    const cli = served(warm, new FakeCli('s1'));
    expect(warm.take('agent-dev', 's1', DEFAULT_PROCESS_KEY, true)).toBe(cli);
    // In use: a second turn of the session (never sent by the queue) gets none.
    expect(warm.take('agent-dev', 's1', DEFAULT_PROCESS_KEY, true)).toBeNull();
    expect(warm.take('agent-staging', 's1', DEFAULT_PROCESS_KEY, true)).toBeNull();
  });

  it('closes a CLI that cannot serve the turn: other options, dead, or another history', () => {
    const warm = pool();
    const other = served(warm, new FakeCli('s1'));
    expect(warm.take('agent-dev', 's1', processKey({ model: 'x' }, false), true)).toBeNull();
    expect(other.closes).toBe(1);

    const dead = served(warm, new FakeCli('s2'));
    dead.dead = true;
    expect(warm.take('agent-dev', 's2', DEFAULT_PROCESS_KEY, true)).toBeNull();
    expect(dead.closes).toBe(1);

    // The session was started anew (a transcript deleted): its old CLI remembers too much.
    const stale = served(warm, new FakeCli('s3'));
    expect(warm.take('agent-dev', 's3', DEFAULT_PROCESS_KEY, false)).toBeNull();
    expect(stale.closes).toBe(1);
    expect(warm.size).toBe(0);
  });

  it('gives a spare (no turn yet) to the first turn of its session, not to a resume', () => {
    const warm = pool();
    const spare = new FakeCli('s1');
    warm.park(spare);
    expect(warm.take('agent-dev', 's1', DEFAULT_PROCESS_KEY, false)).toBe(spare);
    const other = new FakeCli('s2');
    warm.park(other);
    expect(warm.take('agent-dev', 's2', DEFAULT_PROCESS_KEY, true)).toBeNull();
  });

  it('closes the least recently used idle CLIs past the per-container and total bounds', () => {
    const warm = pool(2, 3);
    const a = served(warm, new FakeCli('a'));
    now = 1;
    const b = served(warm, new FakeCli('b'));
    now = 2;
    // `a` serves another turn: `b` is now the least recently used.
    expect(warm.take('agent-dev', 'a', DEFAULT_PROCESS_KEY, true)).toBe(a);
    warm.release(a);
    now = 3;
    served(warm, new FakeCli('c'));
    expect([a.closes, b.closes]).toEqual([0, 1]);

    const staging = ['x', 'y'].map((id) => served(warm, new FakeCli(id, 'agent-staging')));
    // Four in all past a total of three: the oldest (`a`, dev) goes.
    expect(a.closes).toBe(1);
    expect(staging.map((cli) => cli.closes)).toEqual([0, 0]);
    expect(warm.size).toBe(3);
  });

  it('never closes a CLI in use; the bounds are met once it is back', () => {
    const warm = pool(1, 1);
    const busy = new FakeCli('busy');
    warm.add(busy);
    const idle = served(warm, new FakeCli('idle'));
    expect(busy.closes).toBe(0);
    expect(idle.closes).toBe(1);
    now = 5;
    warm.release(busy);
    expect(busy.closes).toBe(0);
    expect(warm.size).toBe(1);
  });

  it('closes CLIs idle longer than the idle time, and only those', () => {
    const warm = pool(4, 4, 1000);
    const old = served(warm, new FakeCli('old'));
    now = 600;
    const recent = served(warm, new FakeCli('recent'));
    const busy = new FakeCli('busy');
    warm.add(busy);
    now = 1000;
    warm.sweep();
    expect([old.closes, recent.closes, busy.closes]).toEqual([1, 0, 0]);
    expect(warm.size).toBe(2);
  });

  it('forgets a CLI that died while idle, but not one whose turn still holds it', () => {
    const warm = pool();
    const idle = served(warm, new FakeCli('idle'));
    idle.dead = true;
    warm.drop(idle);
    const busy = new FakeCli('busy');
    warm.add(busy);
    busy.dead = true;
    warm.drop(busy);
    expect(warm.size).toBe(1);
    // Back from its turn, dead: it leaves the pool.
    warm.release(busy);
    expect(warm.size).toBe(0);
  });

  it("closes a container's idle CLIs when it stops, and leaves the others", async () => {
    const warm = pool(4, 4);
    const dev = served(warm, new FakeCli('d'));
    const staging = served(warm, new FakeCli('s', 'agent-staging'));
    await warm.closeIdle('agent-dev');
    expect([dev.closes, staging.closes]).toEqual([1, 0]);
    expect(warm.take('agent-staging', 's', DEFAULT_PROCESS_KEY, true)).toBe(staging);
  });

  it("closes a deleted session's idle CLI, not a CLI whose turn holds it, nor other sessions'", async () => {
    const warm = pool(4, 4);
    const deleted = served(warm, new FakeCli('gone'));
    const other = served(warm, new FakeCli('kept'));
    await warm.closeSession('agent-dev', 'gone');
    expect([deleted.closes, other.closes]).toEqual([1, 0]);
    expect(warm.take('agent-dev', 'gone', DEFAULT_PROCESS_KEY, true)).toBeNull();

    const busy = warm.take('agent-dev', 'kept', DEFAULT_PROCESS_KEY, true);
    await warm.closeSession('agent-dev', 'kept');
    expect(busy?.closes).toBe(0);
  });
});
