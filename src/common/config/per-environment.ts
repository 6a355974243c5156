/**
 * Settings with a per-environment override: `<BASE>` for every environment, `<BASE>_<ENV>` for
 * one (`dev` → `<BASE>_DEV`, `qa-1` → `<BASE>_QA_1`).
 */
export function perEnvironmentVariable(base: string, env: string): string {
  return `${base}_${env.toUpperCase().replace(/-/g, '_')}`;
}

/**
 * Pushes a problem for each set `<BASE>_<X>` that names no environment: a typo there would
 * otherwise be ignored silently. `alsoKnown` lists other variables that share the prefix.
 */
export function checkEnvironmentOverrides(
  env: NodeJS.ProcessEnv,
  base: string,
  environments: readonly string[],
  problems: string[],
  alsoKnown: readonly string[] = [],
): void {
  const known = new Set([
    ...environments.map((name) => perEnvironmentVariable(base, name)),
    ...alsoKnown,
  ]);
  for (const name of Object.keys(env)) {
    if (name.startsWith(`${base}_`) && !known.has(name) && env[name]) {
      problems.push(`${name} names no environment of ENVIRONMENTS`);
    }
  }
}
