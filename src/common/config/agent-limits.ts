import { checkEnvironmentOverrides, perEnvironmentVariable } from './per-environment';

/** What bounds one environment's agent container (and every run in it). */
export interface AgentLimits {
  /** Memory in bytes; swap is off (MemorySwap = Memory). */
  readonly memoryBytes: number;
  /** CPUs, e.g. 1.5 (Docker's NanoCpus / 1e9). */
  readonly cpus: number;
  /** Processes and threads at once. */
  readonly pids: number;
  /** Open files per process (soft and hard). */
  readonly nofile: number;
  /** Size of the /tmp tmpfs in MiB (it counts against the memory). */
  readonly tmpMib: number;
  /** Relative CPU weight under contention (Docker's default is 1024; the API's is higher). */
  readonly cpuShares: number;
}

/** `AGENT_LIMITS` sets every environment's defaults; `AGENT_LIMITS_<ENV>` overrides them. */
export const AGENT_LIMITS_VARIABLE = 'AGENT_LIMITS';

export const DEFAULT_AGENT_LIMITS: AgentLimits = {
  memoryBytes: 2 * 1024 ** 3,
  cpus: 1,
  pids: 512,
  nofile: 4096,
  tmpMib: 512,
  cpuShares: 512,
};

const MIB = 1024 ** 2;
const SIZE_UNITS: Record<string, number> = { '': 1, k: 1024, m: MIB, g: 1024 ** 3 };

interface KeySyntax {
  field: keyof AgentLimits;
  example: string;
  parse: (text: string) => number | null;
  /** Why a parsed value is refused, or null. */
  check: (value: number) => string | null;
}

const integer = (text: string): number | null => (/^\d+$/.test(text) ? Number(text) : null);
const size = (text: string): number | null => {
  const match = /^(\d+)([kmg]?)$/i.exec(text);
  return match ? Number(match[1]) * SIZE_UNITS[match[2].toLowerCase()] : null;
};
const between = (min: number, max: number, what: string) => (value: number) =>
  value >= min && value <= max ? null : `must be ${what}`;

/** The keys of a limits value, as written in `memory=1g,cpus=1.5,…`. */
const KEYS: Record<string, KeySyntax> = {
  memory: {
    field: 'memoryBytes',
    example: '1g',
    parse: size,
    check: between(64 * MIB, 1024 ** 4, 'between 64m and 1024g'),
  },
  cpus: {
    field: 'cpus',
    example: '1.5',
    parse: (text) => (/^\d+(\.\d{1,3})?$/.test(text) ? Number(text) : null),
    check: between(0.01, 256, 'between 0.01 and 256'),
  },
  pids: {
    field: 'pids',
    example: '512',
    parse: integer,
    check: between(32, 1_000_000, 'between 32 and 1000000'),
  },
  nofile: {
    field: 'nofile',
    example: '4096',
    parse: integer,
    check: between(256, 1_048_576, 'between 256 and 1048576'),
  },
  tmp: {
    field: 'tmpMib',
    example: '256m',
    parse: (text) => {
      const bytes = size(text);
      return bytes !== null && bytes % MIB === 0 ? bytes / MIB : null;
    },
    check: between(1, 1024 * 1024, 'at least 1m'),
  },
  cpuShares: {
    field: 'cpuShares',
    example: '512',
    parse: integer,
    check: between(2, 262_144, 'between 2 and 262144'),
  },
};

/**
 * Every environment's limits from `AGENT_LIMITS` (the defaults, over the built-in ones) and
 * `AGENT_LIMITS_<ENV>` (that environment's overrides). Each value is a comma list of
 * `key=value` (memory, cpus, pids, nofile, tmp, cpuShares). Each problem is pushed to
 * `problems`, naming the variable.
 */
export function parseAgentLimits(
  env: NodeJS.ProcessEnv,
  environments: readonly string[],
  problems: string[],
): Record<string, AgentLimits> {
  const defaults = applyLimits(DEFAULT_AGENT_LIMITS, AGENT_LIMITS_VARIABLE, env, problems);
  checkEnvironmentOverrides(env, AGENT_LIMITS_VARIABLE, environments, problems);
  const limits: Record<string, AgentLimits> = {};
  for (const name of environments) {
    const variable = perEnvironmentVariable(AGENT_LIMITS_VARIABLE, name);
    const own = applyLimits(defaults, variable, env, problems);
    if (own.tmpMib * MIB >= own.memoryBytes) {
      problems.push(`${variable}: tmp must be smaller than memory (a full /tmp is held in memory)`);
    }
    limits[name] = own;
  }
  return limits;
}

function applyLimits(
  base: AgentLimits,
  variable: string,
  env: NodeJS.ProcessEnv,
  problems: string[],
): AgentLimits {
  const text = env[variable]?.trim();
  if (!text) return base;
  const limits: Record<keyof AgentLimits, number> = { ...base };
  for (const entry of text.split(',').map((part) => part.trim())) {
    const [key, value = '', ...extra] = entry.split('=').map((part) => part.trim());
    const syntax = Object.hasOwn(KEYS, key) ? KEYS[key] : undefined;
    if (!syntax || extra.length > 0) {
      problems.push(
        `${variable}: "${entry}" is not key=value with a key of ${Object.keys(KEYS).join(', ')}`,
      );
      continue;
    }
    const parsed = syntax.parse(value);
    const refused = parsed === null ? `must look like ${syntax.example}` : syntax.check(parsed);
    if (parsed === null || refused) {
      problems.push(`${variable}: ${key} ${refused} (got "${value}")`);
      continue;
    }
    limits[syntax.field] = parsed;
  }
  return limits;
}
