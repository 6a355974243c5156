import { ConfigValidationError, loadConfig } from '../../src/common/config/load-config';

/** A valid API_TOKEN, for settings tests that are about something else. */
export const CONFIG_TOKEN = 't'.repeat(32);

/** The problems `loadConfig` finds with `env` (a valid API_TOKEN added); none when it loads. */
export function configProblems(env: NodeJS.ProcessEnv): readonly string[] {
  try {
    loadConfig({ API_TOKEN: CONFIG_TOKEN, ...env });
  } catch (error) {
    if (error instanceof ConfigValidationError) return error.problems;
    throw error;
  }
  return [];
}
