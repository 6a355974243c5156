// Settings that one environment's own variable overrides (AGENT_LIMITS_DEV, MCP_CONFIG_DEV).

/** The variable of one environment: `dev` → `<base>_DEV`, `qa-2` → `<base>_QA_2`. */
export function perEnvironmentVariable(base: string, env: string): string {
  return `${base}_${env.toUpperCase().replace(/-/g, '_')}`;
}

/** Pushes a problem for each set `<base>_<X>` whose X is no environment of ENVIRONMENTS. */
export function checkPerEnvironmentVariables(
  base: string,
  env: NodeJS.ProcessEnv,
  environments: readonly string[],
  problems: string[],
): void {
  const known = new Set(environments.map((name) => perEnvironmentVariable(base, name)));
  for (const name of Object.keys(env)) {
    if (name.startsWith(`${base}_`) && !known.has(name) && env[name]) {
      problems.push(`${name} names no environment of ENVIRONMENTS`);
    }
  }
}
