import type { components } from '../../../client/src';
import {
  createSpecCheckedClient,
  SpecViolation,
  specCheckedFetch,
} from '../../support/spec-checked-client';

type ContainerStatus = components['schemas']['ContainerStatusDto'];

const BASE_URL = 'http://127.0.0.1:1';

const status: ContainerStatus = {
  env: 'dev',
  name: 'claude-agent-dev',
  host: 'local',
  exists: true,
  running: true,
  state: 'running',
  image: 'claudecode-agent:latest',
  startedAt: '2026-11-27T00:00:01.000Z',
  createdAt: null,
  auth: { method: 'api_key' },
  managed: true,
  settingsHash: 'a'.repeat(64),
  matchesSettings: true,
  limits: {
    memoryBytes: 2147483648,
    cpus: 1,
    pids: 512,
    nofile: 4096,
    tmpBytes: 536870912,
    cpuShares: 512,
  },
  idleSince: '2026-11-27T00:00:02.000Z',
  idleStopAt: null,
};

const error = {
  statusCode: 404,
  code: 'ENV_NOT_FOUND',
  message: 'No environment prod',
  requestId: 'r-1',
};

/** A client whose every request gets this one answer, as if the service had sent it. */
function clientAnswering(response: Response) {
  return createSpecCheckedClient({
    baseUrl: BASE_URL,
    token: 't',
    fetch: () => Promise.resolve(response),
  });
}

function json(body: unknown, statusCode = 200, contentType = 'application/json; charset=utf-8') {
  return new Response(JSON.stringify(body), {
    status: statusCode,
    headers: { 'content-type': contentType },
  });
}

const getStatus = (response: Response) =>
  clientAnswering(response).GET('/api/containers/{env}', { params: { path: { env: 'dev' } } });

describe('the spec-checked client (the e2e suite relies on it to catch a lying spec)', () => {
  it('passes an answer the spec documents, and still hands over its body', async () => {
    const answer = await getStatus(json(status));
    expect(answer.data).toEqual(status);
  });

  it('passes a documented error body', async () => {
    const answer = await getStatus(json(error, 404));
    expect(answer.error).toEqual(error);
  });

  it.each([
    ['a required field is missing', json({ ...status, running: undefined }), /'running'/],
    ['a non-nullable field is null', json({ ...status, image: null }), /body\/image must be/],
    ['a value is outside its enum', json({ ...status, state: 'asleep' }), /body\/state must be/],
    [
      'a nested $ref is broken',
      json({ ...status, auth: { method: 'telepathy' } }),
      /body\/auth\/method must be/,
    ],
    ['the status is not documented', json(status, 201), /201, which is not documented/],
    ['the content type is not documented', json(status, 200, 'text/plain'), /"text\/plain"/],
    [
      'an error body lacks the error shape',
      json({ statusCode: 404, message: 'gone' }, 404),
      /'code'.*'requestId'/,
    ],
  ])('fails when %s', async (_case, response, problem) => {
    const violation: unknown = await getStatus(response).catch((thrown: unknown) => thrown);
    expect(violation).toBeInstanceOf(SpecViolation);
    expect((violation as SpecViolation).message).toMatch(problem);
  });

  it('names the operation and the status it refused', async () => {
    await expect(getStatus(json(status, 418))).rejects.toMatchObject({
      operation: 'getContainerStatus',
      request: 'GET /api/containers/dev',
      status: 418,
    });
  });

  it('checks a body-less 204 by its status alone', async () => {
    const client = clientAnswering(new Response(null, { status: 204 }));
    const deleted = await client.DELETE('/api/sessions/{env}/{id}', {
      params: { path: { env: 'dev', id: '00000000-0000-4000-8000-000000000000' } },
    });
    expect(deleted.response.status).toBe(204);
  });
});

describe('specCheckedFetch (for the calls the client cannot make)', () => {
  const realFetch = global.fetch;
  afterEach(() => {
    global.fetch = realFetch;
  });

  function answer(response: Response): void {
    global.fetch = () => Promise.resolve(response);
  }

  it('checks an event stream by status and content type, leaving its body unread', async () => {
    const stream = new Response('id: 1\nevent: system\ndata: {}\n\n', {
      headers: { 'content-type': 'text/event-stream; charset=utf-8' },
    });
    answer(stream);
    const response = await specCheckedFetch(`${BASE_URL}/api/executions/abc/events`);
    expect(response.bodyUsed).toBe(false);

    answer(json(status));
    await expect(specCheckedFetch(`${BASE_URL}/api/executions/abc/events`)).rejects.toThrow(
      /streamExecutionEvents \(GET \/api\/executions\/abc\/events\) answered 200, as "application\/json"/,
    );
  });

  it('refuses a path the spec does not have', async () => {
    answer(json(error, 404));
    await expect(specCheckedFetch(`${BASE_URL}/api/nothing-here`)).rejects.toThrow(
      'GET /api/nothing-here answered 404, but openapi.json has no operation',
    );
  });

  it('tells a literal path from a template one, and the method too', async () => {
    answer(json({ status: 'ok', docker: 'ok', hosts: [{ name: 'local', reachable: true }] }));
    await expect(specCheckedFetch(`${BASE_URL}/health/ready`)).resolves.toBeInstanceOf(Response);
    answer(json({ status: 'ok' }));
    await expect(
      specCheckedFetch(`${BASE_URL}/api/containers/dev`, { method: 'PUT' }),
    ).rejects.toThrow('PUT /api/containers/dev');
  });
});
