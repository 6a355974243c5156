import { createHash } from 'node:crypto';
import {
  AGENT_CONFIG_DIR,
  AGENT_CREDENTIALS_DIR,
  AGENT_PROJECTS_DIR,
  AGENT_TMP_DIR,
  AGENT_USER,
  AGENT_WORKSPACE,
  ENV_LABEL,
  MANAGED_LABEL,
  SETTINGS_HASH_LABEL,
  agentContainerName,
} from '../agent/agent-layout';
import { AgentConfig } from '../common/config/app-config';
import { containerCreateBody } from '../docker/docker.service';
import { ContainerSpec, VolumeMount } from '../docker/docker.types';

/**
 * The named volumes of an environment's container. The login (credentials) is shared by every
 * environment; everything a run can write that shapes later runs (CLAUDE_CONFIG_DIR with its
 * settings, hooks, MCP servers and CLAUDE.md; the workspace with the project's) is the
 * environment's own.
 */
export function agentVolumeMounts(agent: AgentConfig, env: string): VolumeMount[] {
  const prefix = agent.volumePrefix;
  return [
    { volume: `${prefix}credentials`, target: AGENT_CREDENTIALS_DIR },
    { volume: `${prefix}config-${env}`, target: AGENT_CONFIG_DIR },
    { volume: `${prefix}sessions-${env}`, target: AGENT_PROJECTS_DIR },
    { volume: `${prefix}workspace-${env}`, target: AGENT_WORKSPACE },
  ];
}

/**
 * The container an environment gets from the current settings and image, labelled with the hash
 * of everything it is made from (the image's id and the whole create body): a container whose
 * label differs was made from other settings, and is re-created on its next start.
 */
export function agentContainerSpec(
  agent: AgentConfig,
  env: string,
  imageId: string,
): ContainerSpec {
  const limits = agent.limits[env];
  const spec: ContainerSpec = {
    name: agentContainerName(agent, env),
    image: agent.image,
    user: AGENT_USER,
    workdir: agent.workdir,
    network: agent.network,
    labels: { [MANAGED_LABEL]: 'true', [ENV_LABEL]: env },
    mounts: agentVolumeMounts(agent, env),
    tmpfs: { [AGENT_TMP_DIR]: limits.tmpMib },
    resources: {
      memoryBytes: limits.memoryBytes,
      nanoCpus: Math.round(limits.cpus * 1e9),
      pidsLimit: limits.pids,
      cpuShares: limits.cpuShares,
      nofile: limits.nofile,
    },
  };
  const hash = createHash('sha256')
    .update(canonicalJson({ imageId, body: containerCreateBody(spec) }))
    .digest('hex');
  return { ...spec, labels: { ...spec.labels, [SETTINGS_HASH_LABEL]: hash } };
}

/** JSON with sorted keys, so equal settings always hash the same. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
