/**
 * LifeOS's token function (a Vercel function: `api/claudecode-token.ts`, web-standard Request and
 * Response). The browser never holds claudecode-api's master token: it POSTs here, this function
 * checks who is signed in, and mints a short-lived token scoped to some environments and actions
 * with `POST /api/tokens`. The adapter (`VITE_CLAUDECODE_TOKEN_URL=/api/claudecode-token`) calls
 * it again shortly before each token expires.
 *
 * Server-side settings (Vercel project settings, never `VITE_`-prefixed, so never in the bundle):
 * - CLAUDECODE_API_URL: claudecode-api's origin.
 * - CLAUDECODE_API_TOKEN: a master token of claudecode-api (API_TOKEN or one of API_TOKENS).
 * - CLAUDECODE_TOKEN_ENVIRONMENTS: comma list of environments the tokens may use (default `*`).
 * - CLAUDECODE_TOKEN_ACTIONS: comma list of `read`, `run`, `admin` (default `read,run`; the
 *   tab's stop, create and remove buttons need `admin`).
 * - CLAUDECODE_TOKEN_TTL_SECONDS: each token's life, 60 or more (default 900).
 */

export type TokenAction = 'read' | 'run' | 'admin';

export interface SignedInUser {
  id: string;
}

/** What a user's token may do. */
export interface TokenScope {
  environments: string[];
  actions: TokenAction[];
}

export interface TokenFunctionSettings {
  apiUrl: string;
  masterToken: string;
  /** Who sent the request, or null when nobody is signed in. */
  authenticate: (request: Request) => Promise<SignedInUser | null>;
  /** The scope of a user's tokens. */
  scopeFor: (user: SignedInUser) => TokenScope;
  ttlSeconds: number;
  fetch?: typeof globalThis.fetch;
}

/**
 * Who is signed in. Replace the body with your auth provider's check: with Clerk, for example,
 * verify the session token from the `Authorization` header or the `__session` cookie and return
 * `{ id: userId }`. Until you do, everyone is refused.
 */
export function signedInUser(_request: Request): Promise<SignedInUser | null> {
  return Promise.resolve(null);
}

/** The token function, given its settings; `POST` below wires it to the environment. */
export function createTokenHandler(
  settings: TokenFunctionSettings,
): (request: Request) => Promise<Response> {
  return async (request) => {
    if (request.method !== 'POST') return reply(405, { message: 'POST to get a token' });
    const user = await settings.authenticate(request);
    if (!user) return reply(401, { message: 'Sign in to use Claude Code' });

    const scope = settings.scopeFor(user);
    let minted: Response;
    try {
      minted = await (settings.fetch ?? fetch)(
        `${settings.apiUrl.replace(/\/+$/, '')}/api/tokens`,
        {
          method: 'POST',
          headers: {
            authorization: `Bearer ${settings.masterToken}`,
            'content-type': 'application/json',
          },
          body: JSON.stringify({
            // The service shows names in its token list: whose token it is.
            name: `lifeos:${user.id}`.slice(0, 64),
            environments: scope.environments,
            actions: scope.actions,
            ttlSeconds: settings.ttlSeconds,
          }),
        },
      );
    } catch {
      return reply(502, { message: 'claudecode-api cannot be reached' });
    }
    const body = (await minted.json().catch(() => ({}))) as {
      token?: string;
      expiresAt?: string;
      message?: string;
    };
    if (minted.status !== 201 || !body.token || !body.expiresAt) {
      // Its message says what was wrong with the request; it never carries the master token.
      return reply(502, {
        message: `claudecode-api refused a token (HTTP ${minted.status}): ${body.message ?? 'no message'}`,
      });
    }
    return reply(200, { token: body.token, expiresAt: body.expiresAt });
  };
}

/**
 * The function's settings from the server's environment variables; a missing or bad one names
 * itself in the error.
 */
export function settingsFromEnv(
  env: Record<string, string | undefined>,
  authenticate: TokenFunctionSettings['authenticate'] = signedInUser,
): TokenFunctionSettings {
  const required = (name: string) => {
    const value = env[name];
    if (!value) throw new Error(`${name} is not set`);
    return value;
  };
  const list = (name: string, fallback: string) =>
    (env[name] ?? fallback)
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean);
  const actions = list('CLAUDECODE_TOKEN_ACTIONS', 'read,run');
  const unknown = actions.filter((action) => !['read', 'run', 'admin'].includes(action));
  if (unknown.length > 0) {
    throw new Error(`CLAUDECODE_TOKEN_ACTIONS: unknown action ${unknown.join(', ')}`);
  }
  const ttlSeconds = Number(env.CLAUDECODE_TOKEN_TTL_SECONDS ?? '900');
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 60) {
    throw new Error('CLAUDECODE_TOKEN_TTL_SECONDS must be a whole number of seconds, 60 or more');
  }
  const environments = list('CLAUDECODE_TOKEN_ENVIRONMENTS', '*');
  return {
    apiUrl: required('CLAUDECODE_API_URL'),
    masterToken: required('CLAUDECODE_API_TOKEN'),
    authenticate,
    scopeFor: () => ({ environments, actions: actions as TokenAction[] }),
    ttlSeconds,
  };
}

/** Vercel calls this for `POST /api/claudecode-token`. */
export async function POST(request: Request): Promise<Response> {
  let settings: TokenFunctionSettings;
  try {
    settings = settingsFromEnv(process.env);
  } catch (error) {
    // Logged for the operator; the browser learns only that the function is not set up.
    console.error(`claudecode-token: ${(error as Error).message}`);
    return reply(500, { message: 'The token function is not configured' });
  }
  return createTokenHandler(settings)(request);
}

function reply(status: number, body: object): Response {
  return new Response(JSON.stringify(body), {
    status,
    // A token is for the one who asked, now: no cache may keep it.
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
  });
}
