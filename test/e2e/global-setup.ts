import { execFileSync } from 'node:child_process';
import { DEFAULT_AGENT_IMAGE } from '../../src/common/config/environment-variables';

const DOCKER_CLI = '/usr/bin/docker';

/**
 * The e2e tests run against a real engine and the real agent image. When either is missing they
 * fail here, loudly, instead of skipping: scripts/build-images.sh (or .ci/run) provides both.
 */
export default function globalSetup(): void {
  try {
    execFileSync(DOCKER_CLI, ['version', '--format', '{{.Server.Version}}'], { stdio: 'pipe' });
  } catch (error) {
    throw new Error(
      `The e2e tests need a running Docker engine (${String(error)}). Run scripts/ensure-docker.sh.`,
    );
  }
  try {
    execFileSync(DOCKER_CLI, ['image', 'inspect', DEFAULT_AGENT_IMAGE], { stdio: 'pipe' });
  } catch {
    throw new Error(
      `The e2e tests need the agent image ${DEFAULT_AGENT_IMAGE}. Run scripts/build-images.sh.`,
    );
  }
}
