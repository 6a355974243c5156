import { execFileSync } from 'node:child_process';

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
