import { PermissionMode } from './permission-mode';
import { checkEnvironmentOverrides, perEnvironmentVariable } from './per-environment';

/** How one environment's runs may use the CLI's permission modes. */
export interface PermissionPolicy {
  /** The mode of a run that names none (`PERMISSION_MODE`, `PERMISSION_MODE_<ENV>`). */
  readonly defaultMode: PermissionMode;
  /** The modes a client may name (`PERMISSION_MODES`, `PERMISSION_MODES_<ENV>`). */
  readonly allowed: readonly PermissionMode[];
}

export const PERMISSION_MODE_VARIABLE = 'PERMISSION_MODE';
export const PERMISSION_MODES_VARIABLE = 'PERMISSION_MODES';

/**
 * What a client may ask for unless the operator says otherwise. Left out: `bypassPermissions`
 * (every tool runs, unasked) and `auto` (a model decides what runs): a token holder should not
 * be able to turn either on; an operator names them.
 */
export const DEFAULT_CLIENT_MODES: readonly PermissionMode[] = [
  PermissionMode.default,
  PermissionMode.acceptEdits,
  PermissionMode.plan,
  PermissionMode.dontAsk,
];

const MODES = new Set<string>(Object.values(PermissionMode));

/**
 * Every environment's policy: the settings without a suffix apply to all, an `_<ENV>` one
 * replaces them for that environment. Each problem is pushed to `problems`, naming the variable.
 */
export function parsePermissionPolicies(
  env: NodeJS.ProcessEnv,
  environments: readonly string[],
  problems: string[],
): Record<string, PermissionPolicy> {
  checkEnvironmentOverrides(env, PERMISSION_MODE_VARIABLE, environments, problems);
  checkEnvironmentOverrides(env, PERMISSION_MODES_VARIABLE, environments, problems);
  const defaultMode = modeOf(env, PERMISSION_MODE_VARIABLE, PermissionMode.default, problems);
  const allowed = modesOf(env, PERMISSION_MODES_VARIABLE, DEFAULT_CLIENT_MODES, problems);
  const policies: Record<string, PermissionPolicy> = {};
  for (const name of environments) {
    policies[name] = {
      defaultMode: modeOf(
        env,
        perEnvironmentVariable(PERMISSION_MODE_VARIABLE, name),
        defaultMode,
        problems,
      ),
      allowed: modesOf(
        env,
        perEnvironmentVariable(PERMISSION_MODES_VARIABLE, name),
        allowed,
        problems,
      ),
    };
  }
  return policies;
}

function modeOf(
  env: NodeJS.ProcessEnv,
  variable: string,
  fallback: PermissionMode,
  problems: string[],
): PermissionMode {
  const text = env[variable]?.trim();
  if (!text) return fallback;
  if (!MODES.has(text)) {
    problems.push(`${variable} must be one of ${[...MODES].join(', ')} (got "${text}")`);
    return fallback;
  }
  return text as PermissionMode;
}

function modesOf(
  env: NodeJS.ProcessEnv,
  variable: string,
  fallback: readonly PermissionMode[],
  problems: string[],
): readonly PermissionMode[] {
  const text = env[variable]?.trim();
  if (!text) return fallback;
  const entries = text
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0);
  const unknown = entries.filter((entry) => !MODES.has(entry));
  if (entries.length === 0 || unknown.length > 0) {
    problems.push(
      `${variable} must be a comma list of ${[...MODES].join(', ')}` +
        (unknown.length > 0 ? ` (unknown: ${unknown.join(', ')})` : ''),
    );
    return fallback;
  }
  return [...new Set(entries)] as PermissionMode[];
}
