import { ChildProcess } from 'node:child_process';
import { Server, Socket } from 'node:net';
import { sleep } from './support/wait';

/**
 * Jest's global teardown: what was left open in Jest's own process. A socket, server or child
 * process left there (by a global setup, or by tests run in band with `--runInBand`) keeps the
 * process alive after the last test: Jest then never exits and CI hangs until its timeout, with
 * no word of why. Here such a handle fails the run instead, named (address, pid, command line),
 * and is closed. Timers cannot be listed, only counted. A teardown that throws makes Jest exit at
 * once with status 1, whatever is still open. Tests run in workers (jest.config.js) are not seen
 * here: a worker that a leak keeps alive is ended by Jest, which says so ("A worker process has
 * failed to exit gracefully").
 */
export default async function leakCheck(): Promise<void> {
  // Closes under way (a child reaped, a socket's FIN, a last timer) get a moment to finish.
  const deadline = Date.now() + DRAIN_MS;
  while (!drained() && Date.now() < deadline) await sleep(100);
  if (drained()) return;

  const handles = openHandles();
  const timers = referencedTimers();

  const open = handles.map(nameOf);
  if (timers > 0) open.push(`${timers} timer(s) still referenced`);
  const active = process.getActiveResourcesInfo().join(', ');
  handles.forEach(close);
  throw new Error(
    `The tests left ${open.length} thing(s) open after the run, which keep Jest from exiting:\n` +
      open.map((line) => `  - ${line}`).join('\n') +
      `\n(Node's list of what is active: ${active})`,
  );
}

// Past a pool's idle timeout (pg's is 10 s) and a keep-alive socket's (undici's is 4 s).
const DRAIN_MS = 15_000;

function drained(): boolean {
  return openHandles().length === 0 && referencedTimers() === 0;
}

/** Only referenced timers are listed: an unref'd one keeps nothing alive. */
function referencedTimers(): number {
  return process.getActiveResourcesInfo().filter((type) => type === 'Timeout').length;
}

type Handle = Socket | Server | ChildProcess;

function openHandles(): Handle[] {
  const active = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles();
  // Jest's own standard streams, and the pipes of a child process listed as that child.
  const implied = new Set<unknown>([process.stdin, process.stdout, process.stderr]);
  for (const handle of active) {
    if (handle instanceof ChildProcess) handle.stdio.forEach((pipe) => implied.add(pipe));
  }
  return active.filter(
    (handle): handle is Handle =>
      !implied.has(handle) &&
      (handle instanceof Socket || handle instanceof Server || handle instanceof ChildProcess) &&
      referenced(handle),
  );
}

/** Only a referenced handle keeps the process alive. */
function referenced(handle: Handle): boolean {
  const inner = (handle as unknown as { _handle?: { hasRef?(): boolean } | null })._handle;
  return inner?.hasRef?.() ?? true;
}

function nameOf(handle: Handle): string {
  if (handle instanceof ChildProcess) {
    return `child process ${handle.pid}: ${handle.spawnargs.join(' ').slice(0, 300)}`;
  }
  if (handle instanceof Server) return `server listening on ${JSON.stringify(handle.address())}`;
  const remote = handle.remoteAddress
    ? `${handle.remoteAddress}:${handle.remotePort}`
    : 'a pipe or unix socket';
  return `socket to ${remote} (local port ${handle.localPort ?? '-'})`;
}

function close(handle: Handle): void {
  if (handle instanceof ChildProcess) {
    handle.kill('SIGKILL');
    handle.stdio.forEach((pipe) => pipe?.destroy());
  } else if (handle instanceof Server) {
    handle.close();
  } else {
    handle.destroy();
  }
}
