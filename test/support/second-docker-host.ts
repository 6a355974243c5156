import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { DOCKER_CLI } from './docker-cli';
import { waitUntil } from './wait';

/**
 * A second Docker engine as a separate host on this machine: its own network namespace (only a
 * loopback, no route anywhere), its own dockerd and containerd, data and state, reached by the
 * API through a unix socket. Its agent containers use host networking, that is the namespace's
 * loopback, so the fake Anthropic API they talk to runs inside the namespace too
 * (`startFakeAnthropic`). Needs root, iproute2 and util-linux's nsenter.
 */
export interface SecondDockerHost {
  /** The engine's address, for DOCKER_HOSTS. */
  readonly address: string;
  /** Runs the docker CLI against this engine. */
  docker(...args: string[]): string;
  /** Copies images from the machine's engine (`docker save | docker load`). */
  loadImages(...images: string[]): void;
  /**
   * Starts the fake Anthropic API inside the namespace on 127.0.0.1:`port`, logging each request;
   * `requestLines()` reads what it saw.
   */
  startFakeAnthropic(port: number): Promise<void>;
  requestLines(): string[];
  /** Kills the engine (dockerd) at once, as a host that goes down; its containers stay. */
  killEngine(): Promise<void>;
  /** Removes everything: processes in the namespace, mounts, folders, the namespace. Idempotent. */
  remove(): void;
}

/** Network-namespace tools (iproute2) and nsenter, as root. */
function run(command: string, ...args: string[]): string {
  return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** The engine's dockerd must bring up its own containerd, or its shims leave the namespace. */
const SYSTEM_CONTAINERD_SOCKET = '/run/containerd/containerd.sock';

export async function startSecondDockerHost(): Promise<SecondDockerHost> {
  if (process.getuid?.() !== 0) throw new Error('a second Docker host needs root');
  if (existsSync(SYSTEM_CONTAINERD_SOCKET)) {
    throw new Error(
      `${SYSTEM_CONTAINERD_SOCKET} exists: dockerd would use that containerd, outside the test's namespace`,
    );
  }
  const id = `cca-dh-${randomBytes(4).toString('hex')}`;
  const netnsPath = `/var/run/netns/${id}`;
  // Short paths: containerd's sockets live under the exec root, and socket paths are bounded.
  const execRoot = `/run/${id}`;
  const dataRoot = `/tmp/${id}-data`;
  const socket = `${execRoot}/docker.sock`;
  const children: ChildProcess[] = [];
  let engine: ChildProcess | undefined;
  let engineLog = '';
  let fakeLog = '';
  let removed = false;

  const docker = (...args: string[]): string => run(DOCKER_CLI, '-H', `unix://${socket}`, ...args);

  const remove = (): void => {
    if (removed) return;
    removed = true;
    for (const child of children) {
      child.kill('SIGKILL');
      // containerd and its shims inherit the engine's output pipes: this end is let go of here,
      // or a survivor would keep the test process from exiting.
      child.stdio.forEach((pipe) => pipe?.destroy());
    }
    // Whatever is left in the namespace: containerd, its shims, the containers (host network).
    for (let round = 0; round < 50 && existsSync(netnsPath); round += 1) {
      const pids = pidsIn(id);
      if (pids.length === 0) break;
      for (const pid of pids) killQuietly(pid);
      execFileSync('sleep', ['0.2']);
    }
    const survivors = existsSync(netnsPath) ? pidsIn(id).map(commandLine) : [];
    unmountUnder([dataRoot, execRoot]);
    rmSync(dataRoot, { recursive: true, force: true });
    rmSync(execRoot, { recursive: true, force: true });
    if (existsSync(netnsPath)) run('ip', 'netns', 'delete', id);
    if (survivors.length > 0) {
      throw new Error(
        `processes of the second Docker host outlived SIGKILL:\n${survivors.join('\n')}`,
      );
    }
  };

  try {
    run('ip', 'netns', 'add', id);
    run('ip', '-n', id, 'link', 'set', 'lo', 'up');
    mkdirSync(execRoot, { recursive: true });
    mkdirSync(dataRoot, { recursive: true });
    const configFile = join(execRoot, 'daemon.json');
    writeFileSync(configFile, '{}');
    // nsenter, not `ip netns exec`: that one remounts /sys, and dockerd then finds no cgroups.
    engine = spawn(
      'nsenter',
      [
        `--net=${netnsPath}`,
        'dockerd',
        '--config-file',
        configFile,
        '--data-root',
        dataRoot,
        '--exec-root',
        execRoot,
        '--pidfile',
        join(execRoot, 'docker.pid'),
        '-H',
        `unix://${socket}`,
        '--bridge=none',
        '--iptables=false',
        '--ip-masq=false',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    children.push(engine);
    engine.stdout?.on('data', (chunk: Buffer) => (engineLog += chunk.toString()));
    engine.stderr?.on('data', (chunk: Buffer) => (engineLog += chunk.toString()));
    await waitUntil(() => {
      if (engine?.exitCode !== null) {
        throw new Error(`the second dockerd exited:\n${engineLog.slice(-2000)}`);
      }
      try {
        docker('version', '--format', '{{.Server.Version}}');
        return Promise.resolve(true);
      } catch {
        return Promise.resolve(false);
      }
    }, 'the second Docker engine to answer');
  } catch (error) {
    remove();
    throw error;
  }

  return {
    address: `unix://${socket}`,
    docker,
    loadImages(...images) {
      const script =
        'cli="$1"; engine="$2"; shift 2; "$cli" save "$@" | "$cli" -H "$engine" load -q';
      execFileSync(
        'bash',
        ['-o', 'pipefail', '-c', script, 'load', DOCKER_CLI, `unix://${socket}`, ...images],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
    },
    async startFakeAnthropic(port) {
      const main = transpiledFakeAnthropic(join(execRoot, 'fake'));
      const fake = spawn(
        'nsenter',
        [`--net=${netnsPath}`, process.execPath, main, '--port', String(port)],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      children.push(fake);
      fake.stdout?.on('data', (chunk: Buffer) => (fakeLog += chunk.toString()));
      fake.stderr?.on('data', (chunk: Buffer) => (fakeLog += chunk.toString()));
      await waitUntil(() => {
        if (fake.exitCode !== null) throw new Error(`the fake API exited:\n${fakeLog}`);
        return Promise.resolve(fakeLog.includes('FAKE_ANTHROPIC_URL='));
      }, 'the fake Anthropic API in the namespace to listen');
    },
    requestLines: () =>
      fakeLog.split('\n').filter((line) => /^\d{4}-\d\d-\d\dT\S+ [A-Z]+ /.test(line)),
    async killEngine() {
      const pid = Number(readFileSync(join(execRoot, 'docker.pid'), 'utf8'));
      process.kill(pid, 'SIGKILL');
      const exited = engine;
      await waitUntil(
        () => Promise.resolve(exited?.exitCode !== null || exited.signalCode !== null),
        'the second dockerd to die',
      );
    },
    remove,
  };
}

/**
 * The fake Anthropic API (fake-anthropic.ts and its main) as plain JavaScript in `dir`, for a
 * node process started inside the namespace; returns the main script's path.
 */
function transpiledFakeAnthropic(dir: string): string {
  mkdirSync(dir, { recursive: true });
  for (const name of ['fake-anthropic', 'fake-anthropic-main']) {
    const source = readFileSync(join(__dirname, `${name}.ts`), 'utf8');
    const { outputText } = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 },
    });
    writeFileSync(join(dir, `${name}.js`), outputText);
  }
  return join(dir, 'fake-anthropic-main.js');
}

function pidsIn(netns: string): number[] {
  return run('ip', 'netns', 'pids', netns).split('\n').filter(Boolean).map(Number);
}

function commandLine(pid: number): string {
  try {
    return `${pid}: ${readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim()}`;
  } catch {
    return `${pid} (gone since)`;
  }
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Gone already.
  }
}

/** Unmounts (lazily, deepest first) whatever the engine left mounted under the folders. */
function unmountUnder(roots: string[]): void {
  const mountPoints = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter(
      (point): point is string =>
        Boolean(point) && roots.some((root) => point === root || point.startsWith(`${root}/`)),
    )
    .sort((a, b) => b.length - a.length);
  for (const point of mountPoints) {
    try {
      run('umount', '-l', point);
    } catch {
      // Unmounted with its parent already.
    }
  }
}
