/**
 * The compose stack's smoke test, through the generated client as the LifeOS app uses it: start
 * `dev`, run a prompt (answered by the fake upstream), and find its session in the list. Run by
 * scripts/compose-smoke.sh, which compiles it and brings the stack up and down; it reads
 * SMOKE_BASE_URL and SMOKE_TOKEN. Any failure throws, and the process exits non-zero.
 */
import { createClaudeCodeClient } from '../client/src';

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

/** Fails with what the API answered, so the CI log says why. */
function check(condition: boolean, step: string, answer: unknown): void {
  if (!condition) throw new Error(`${step} failed: ${JSON.stringify(answer)}`);
  console.log(`compose-smoke: ${step}: ok`);
}

async function main(): Promise<void> {
  const client = createClaudeCodeClient({
    baseUrl: required('SMOKE_BASE_URL'),
    token: required('SMOKE_TOKEN'),
  });
  const params = { path: { env: 'dev' } };

  const started = await client.POST('/api/containers/{env}/start', { params });
  check(started.data?.running === true, 'startContainer dev', started.error ?? started.data);

  const prompt = `compose smoke ${Date.now()}`;
  const run = await client.POST('/api/execute', { body: { env: 'dev', prompt } });
  check(
    run.data?.success === true && run.data.output === `echo: ${prompt}`,
    'executePrompt against the fake upstream',
    run.error ?? run.data,
  );

  const sessions = await client.GET('/api/sessions/{env}', { params });
  const sessionId = run.data?.sessionId;
  check(
    sessions.data?.items.some((session) => session.id === sessionId) === true,
    `listSessions shows ${sessionId}`,
    sessions.error ?? sessions.data,
  );
}

main().catch((error: unknown) => {
  console.error(`compose-smoke: FAILED: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
