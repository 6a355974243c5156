/**
 * Where the agent image (docker/agent/Dockerfile) keeps what the Claude CLI writes. Each path is
 * a named volume, so nothing is lost when a container is removed and created again; the rest of
 * the root is read-only.
 */
export const AGENT_USER = 'node';
export const AGENT_HOME = '/home/node';
/** CLAUDE_CONFIG_DIR: settings and `.claude.json`. */
export const AGENT_CONFIG_DIR = `${AGENT_HOME}/.claude`;
/** Transcripts, one folder per working directory. */
export const AGENT_PROJECTS_DIR = `${AGENT_CONFIG_DIR}/projects`;
/** `.credentials.json` lives here; the image links it into CLAUDE_CONFIG_DIR. */
export const AGENT_CREDENTIALS_DIR = `${AGENT_HOME}/.claude-credentials`;
/** The workspace volume (AGENT_WORKDIR is here or below). */
export const AGENT_WORKSPACE = '/workspace';
/**
 * The one tmpfs: the root is read-only, and the CLI writes outside its volumes only here
 * (its per-run scratch under /tmp/claude-<uid>, found with `docker diff` after real runs).
 */
export const AGENT_TMP_DIR = '/tmp';

/** The name of an environment's agent container (the API addresses it by name, never by id). */
export function agentContainerName(agent: { containerPrefix: string }, env: string): string {
  return `${agent.containerPrefix}${env}`;
}

/** The environment of an agent container, from its name (`agentContainerName` undone). */
export function agentEnvironmentOf(
  agent: { containerPrefix: string },
  containerName: string,
): string {
  return containerName.slice(agent.containerPrefix.length);
}

/** Labels that mark Docker objects as this service's. */
export const MANAGED_LABEL = 'com.claudecode-api.managed';
export const ENV_LABEL = 'com.claudecode-api.env';
/** The hash of the settings a container was made from (see agent-container-spec.ts). */
export const SETTINGS_HASH_LABEL = 'com.claudecode-api.settings-hash';

/**
 * What the CLI keeps of one session in CLAUDE_CONFIG_DIR besides its transcript: the session's
 * shell environment and the checkpoints of files it edited. They go when the session is deleted.
 */
export function sessionStatePaths(sessionId: string): string[] {
  return [
    `${AGENT_CONFIG_DIR}/session-env/${sessionId}`,
    `${AGENT_CONFIG_DIR}/file-history/${sessionId}`,
  ];
}
