import { execFileSync } from 'node:child_process';
import { RUN_MARKER } from '../../src/docker/docker.service';

/** Debian's client, which matches the 20.10 engine (a newer one may come first on PATH). */
export const DOCKER_CLI = '/usr/bin/docker';

/** Runs the Docker CLI for facts the API does not expose (restart policy, mounts, cleanup). */
export function dockerCli(...args: string[]): string {
  return execFileSync(DOCKER_CLI, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export function inspectJson<T>(name: string): T {
  return (JSON.parse(dockerCli('inspect', name)) as T[])[0];
}

/** Removes every container and volume whose name starts with `prefix`. */
export function removeDockerObjects(prefix: string): void {
  const containers = dockerCli('ps', '-aq', '--filter', `name=^${prefix}`)
    .split('\n')
    .filter(Boolean);
  if (containers.length > 0) dockerCli('rm', '-f', ...containers);
  const volumes = dockerCli('volume', 'ls', '-q', '--filter', `name=^${prefix}`)
    .split('\n')
    .filter(Boolean);
  if (volumes.length > 0) dockerCli('volume', 'rm', '-f', ...volumes);
}

/** The Claude CLI processes in a container, as the image's `ps` shows them. */
export function claudeProcesses(container: string): string[] {
  return dockerCli('exec', container, 'ps', '-eo', 'args=')
    .split('\n')
    .filter((line) => /(^|\/)claude( |$)/.test(line));
}

/** The Claude CLIs of one session in the container (others, warm or spare, may run beside). */
export function claudeProcessesOf(container: string, sessionId: string | undefined): string[] {
  return claudeProcesses(container).filter((line) => sessionId && line.includes(sessionId));
}

/** A process of the container that carries the service's run marker (RUN_MARKER). */
export interface MarkedProcess {
  /** The marker's value: a run's id, or a warm CLI's `warm-…` marker. */
  marker: string;
  /** Its command line, arguments separated by spaces. */
  args: string;
}

// The marker's name comes in as $1, never spliced into the text.
const LIST_MARKED_PROCESSES = `for dir in /proc/[0-9]*; do
  marker=$(tr '\\0' '\\n' < "$dir/environ" 2>/dev/null | grep -m1 "^$1=") || continue
  printf '%s\\t%s\\n' "\${marker#*=}" "$(tr '\\0' ' ' < "$dir/cmdline")"
done`;

/**
 * Every process in the container that the service started for a run, a warm CLI or a spare, as
 * the engine `docker` runs the CLI against (the machine's by default) sees them.
 */
export function markedProcesses(
  container: string,
  docker: (...args: string[]) => string = dockerCli,
): MarkedProcess[] {
  return docker('exec', container, 'sh', '-c', LIST_MARKED_PROCESSES, 'list', RUN_MARKER)
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const tab = line.indexOf('\t');
      return { marker: line.slice(0, tab), args: line.slice(tab + 1) };
    });
}
