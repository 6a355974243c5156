import type { ClaudeCodeViteEnv } from '../../examples/lifeos/claudecode-vite-env';

/**
 * What the LifeOS adapter reads as `import.meta.env` under Jest (jest.config.js maps
 * `claudecode-vite-env` here): a test sets the variables a Vite build would have.
 */
export const viteEnv: ClaudeCodeViteEnv = {};

export function readViteEnv(): ClaudeCodeViteEnv {
  return viteEnv;
}

/** Sets the Vite variables for one test; the undo empties them again. */
export function setViteEnv(values: ClaudeCodeViteEnv): () => void {
  Object.assign(viteEnv, values);
  return () => {
    for (const key of Object.keys(viteEnv)) delete viteEnv[key as keyof ClaudeCodeViteEnv];
  };
}
