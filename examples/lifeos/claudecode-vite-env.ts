/**
 * The Vite build's variables that `claudecode.ts` reads. They sit in a module of their own because
 * `import.meta` exists only in ES modules: this repository's tests compile to CommonJS and put a
 * stand-in in its place (jest.config.js).
 */
export interface ClaudeCodeViteEnv {
  /** claudecode-api's origin, e.g. `https://claudecode.example.com`. */
  VITE_CLAUDECODE_API_URL?: string;
  /** LifeOS's token function, e.g. `/api/claudecode-token`: short-lived scoped tokens. */
  VITE_CLAUDECODE_TOKEN_URL?: string;
  /** A fixed token. Local development only: whatever is in the bundle, every visitor has. */
  VITE_CLAUDECODE_API_TOKEN?: string;
}

export function readViteEnv(): ClaudeCodeViteEnv {
  // The cast works with and without vite/client's types. The comments keep the repository's
  // CommonJS type check (tsconfig.json), which never runs this file, from refusing `import.meta`.
  // eslint-disable-next-line @typescript-eslint/ban-ts-comment
  // @ts-ignore TS1343
  return (import.meta as unknown as { env?: ClaudeCodeViteEnv }).env ?? {};
}
