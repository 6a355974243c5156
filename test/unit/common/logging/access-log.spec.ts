import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../../../src/common/config/load-config';
import { DockerService } from '../../../../src/docker/docker.service';
import { appWithOverrides } from '../../../support/app-with-mocked-docker';
import { strictMock } from '../../../support/strict-mock';

const API_TOKEN = 'a'.repeat(32);
const PROMPT = 'a secret plan nobody may read in the logs';
const ENV_NAME = 'dev';

/** The real app, its logs kept as lines; no request here may reach Docker. */
async function appLogging(env: Record<string, string> = {}) {
  const lines: string[] = [];
  const config = loadConfig({
    API_TOKEN,
    DATA_DIR: mkdtempSync(join(tmpdir(), 'cca-unit-data-')),
    LOG_LEVEL: 'info',
    ...env,
  });
  const app = await appWithOverrides(
    config,
    [{ provide: DockerService, useValue: strictMock<DockerService>('DockerService') }],
    { write: (line: string) => void lines.push(line) },
  );
  return { app, accessLines: () => lines.map(parse).filter((line) => line.route !== undefined) };
}

function parse(line: string): Record<string, unknown> {
  return JSON.parse(line) as Record<string, unknown>;
}

/** A run's request that stops before Docker: the permission mode is not allowed. */
function execute(app: NestFastifyApplication, requestId: string) {
  return app.inject({
    method: 'POST',
    url: '/api/execute',
    headers: { authorization: `Bearer ${API_TOKEN}`, 'x-request-id': requestId },
    payload: { env: ENV_NAME, prompt: PROMPT, permissionMode: 'bypassPermissions' },
  });
}

describe('the access log', () => {
  let app: NestFastifyApplication | undefined;
  afterEach(() => app?.close());

  it('writes one JSON line a request: its id, route, status, duration, token id and env; no token, no prompt', async () => {
    const logging = await appLogging({ PERMISSION_MODES: 'default' });
    app = logging.app;
    const res = await execute(app, 'req-access-1');
    expect(res.statusCode).toBe(403);

    const [line, ...others] = logging.accessLines();
    expect(others).toEqual([]);
    expect(line).toMatchObject({
      level: 'info',
      msg: 'request completed',
      reqId: 'req-access-1',
      method: 'POST',
      route: '/api/execute',
      status: 403,
      env: ENV_NAME,
      tokenId: expect.stringMatching(/^[0-9a-f]{16}$/),
    });
    expect(line.durationMs).toEqual(expect.any(Number));
    const text = JSON.stringify(line);
    expect(text).not.toContain(API_TOKEN);
    expect(text).not.toContain(PROMPT);
    expect(text).not.toContain('authorization');
  });

  it('names the run of an executions route, and leaves the query (where an events token travels) out', async () => {
    const logging = await appLogging();
    app = logging.app;
    const runId = '0b9a7f3e-6c1d-4a2b-9e8f-123456789abc';
    await app.inject({ method: 'GET', url: `/api/executions/${runId}/events?access_token=s3cr3t` });

    const [line] = logging.accessLines();
    expect(line).toMatchObject({ route: '/api/executions/:id/events', runId, status: 401 });
    expect(line.tokenId).toBeUndefined();
    expect(JSON.stringify(line)).not.toContain('s3cr3t');
  });

  it('carries the prompt only when LOG_CONTENT is on', async () => {
    const logging = await appLogging({ PERMISSION_MODES: 'default', LOG_CONTENT: 'true' });
    app = logging.app;
    await execute(app, 'req-access-2');
    expect(logging.accessLines()[0]).toMatchObject({ reqId: 'req-access-2', prompt: PROMPT });
  });
});
