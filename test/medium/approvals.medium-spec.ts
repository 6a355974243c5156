import { randomUUID } from 'node:crypto';
import { readSse, SseEvent } from '../support/sse-client';
import { executionsApps, TOKEN } from './executions-app';

// Beside the run lifecycle (executions.medium-spec.ts): a run that waits for a person. Nothing
// here waits on the clock longer than the tiny approval timeouts the tests set.
jest.setTimeout(30_000);

describe('approvals: the real wiring and store around a fake runner', () => {
  const boot = executionsApps();

  /** A run asked with `approvals`, waiting on one ask for Bash. */
  async function waitingRun(settings: Record<string, string> = {}) {
    const app = await boot(settings);
    const id = await app.submit({ prompt: 'clean up', approvals: true });
    const run = await app.runner.runOf(id);
    const asked = app.nextAskOf(id);
    const answer = run.askApproval('Bash', { command: 'rm -rf build/' });
    const requestId = await asked;
    const answerRoute = `/api/executions/${id}/approvals/${requestId}`;
    return { ...app, id, run, answer, requestId, answerRoute };
  }

  it('shows a pending approval on the run and in the history; allow hands the edited input to the run', async () => {
    const { request, id, answer, answerRoute } = await waitingRun();
    const shown = await request('GET', `/api/executions/${id}`);
    expect(shown.json()).toMatchObject({
      status: 'running',
      needsAttention: true,
      pendingApprovals: [
        {
          requestId: expect.any(String),
          tool: 'Bash',
          input: { command: 'rm -rf build/' },
          toolUseId: 'toolu_Bash',
          expiresAt: expect.any(String),
        },
      ],
    });
    const history = (await request('GET', '/api/executions')).json<{ items: object[] }>();
    expect(history.items).toEqual([expect.objectContaining({ id, needsAttention: true })]);

    const answered = await request('POST', answerRoute, {
      decision: 'allow',
      updatedInput: { command: 'rm -rf build/tmp' },
    });
    expect(answered.statusCode).toBe(200);
    expect(answered.json()).toMatchObject({ needsAttention: false, pendingApprovals: [] });
    await expect(answer).resolves.toEqual({
      behavior: 'allow',
      updatedInput: { command: 'rm -rf build/tmp' },
    });
  });

  it('allow for this session hands the CLI the suggested allow rules, for the session only', async () => {
    const app = await boot();
    const id = await app.submit({ prompt: 'touch files', approvals: true });
    const run = await app.runner.runOf(id);
    const rule = { toolName: 'Bash', ruleContent: 'touch a *' };
    const answer = run.askApproval('Bash', { command: 'touch a' }, [
      { type: 'addRules', rules: [rule], behavior: 'allow', destination: 'localSettings' },
      { type: 'addRules', rules: [rule], behavior: 'deny', destination: 'session' },
      { type: 'addDirectories', directories: ['/workspace'], destination: 'session' },
      { type: 'setMode', mode: 'acceptEdits', destination: 'session' },
    ]);
    const { pendingApprovals } = (await app.request('GET', `/api/executions/${id}`)).json<{
      pendingApprovals: { requestId: string }[];
    }>();
    const route = `/api/executions/${id}/approvals/${pendingApprovals[0].requestId}`;
    const refused = await app.request('POST', route, { decision: 'deny', scope: 'session' });
    expect(refused.json()).toMatchObject({ statusCode: 400, code: 'VALIDATION_FAILED' });

    expect(
      (await app.request('POST', route, { decision: 'allow', scope: 'session' })).statusCode,
    ).toBe(200);
    const remembered = [
      { type: 'addRules', rules: [rule], behavior: 'allow', destination: 'session' },
      { type: 'addDirectories', directories: ['/workspace'], destination: 'session' },
    ];
    await expect(answer).resolves.toEqual({ behavior: 'allow', updatedPermissions: remembered });
    run.succeed('done');
    const resolved = (await app.readEvents(id)).find((e) => e.event === 'approval_resolved');
    expect(JSON.parse(resolved?.data ?? '{}')).toMatchObject({ scope: 'session', remembered });
  });

  it('deny tells the run the message, and the tool does not run', async () => {
    const { request, answer, answerRoute } = await waitingRun();
    const denied = await request('POST', answerRoute, { decision: 'deny', message: 'not now' });
    expect(denied.statusCode).toBe(200);
    await expect(answer).resolves.toEqual({ behavior: 'deny', message: 'not now' });
  });

  it('answers 409 APPROVAL_ANSWERED, 404 APPROVAL_NOT_FOUND, 400 and 409 EXECUTION_FINISHED', async () => {
    const { request, id, run, answerRoute, ended } = await waitingRun();
    const invalid = await request('POST', answerRoute, { decision: 'maybe' });
    expect(invalid.json()).toMatchObject({ statusCode: 400, code: 'VALIDATION_FAILED' });
    expect((await request('POST', answerRoute, { decision: 'allow' })).statusCode).toBe(200);

    const again = await request('POST', answerRoute, { decision: 'deny' });
    expect(again.json()).toMatchObject({ statusCode: 409, code: 'APPROVAL_ANSWERED' });
    const unknown = `/api/executions/${id}/approvals/${randomUUID()}`;
    const missing = await request('POST', unknown, { decision: 'allow' });
    expect(missing.json()).toMatchObject({ statusCode: 404, code: 'APPROVAL_NOT_FOUND' });

    run.succeed('done');
    await ended(id);
    const late = await request('POST', answerRoute, { decision: 'allow' });
    expect(late.json()).toMatchObject({ statusCode: 409, code: 'EXECUTION_FINISHED' });
  });

  it('lets POST /api/execute wait on an approval too, answered through the same route', async () => {
    const { runner, request } = await boot();
    const reply = request('POST', '/api/execute', { env: 'dev', prompt: 'hi', approvals: true });
    const run = await runner.runAt(0);
    const answer = run.askApproval('Write', { file_path: 'notes.md' });
    const { pendingApprovals } = (
      await request('GET', `/api/executions/${run.request.runId}`)
    ).json<{ pendingApprovals: { requestId: string }[] }>();
    const route = `/api/executions/${run.request.runId}/approvals/${pendingApprovals[0].requestId}`;
    expect((await request('POST', route, { decision: 'allow' })).statusCode).toBe(200);
    await expect(answer).resolves.toMatchObject({ behavior: 'allow' });

    run.succeed('written');
    expect((await reply).json()).toMatchObject({ success: true, output: 'written' });
  });

  it('denies an approval nobody answers within APPROVAL_TIMEOUT_MS, and says so', async () => {
    const { request, id, answer, answerRoute, run, readEvents } = await waitingRun({
      APPROVAL_TIMEOUT_MS: '100',
    });
    await expect(answer).resolves.toMatchObject({ behavior: 'deny' });
    const shown = await request('GET', `/api/executions/${id}`);
    expect(shown.json()).toMatchObject({ needsAttention: false, pendingApprovals: [] });
    const late = await request('POST', answerRoute, { decision: 'allow' });
    expect(late.json()).toMatchObject({ code: 'APPROVAL_ANSWERED' });

    run.succeed('done');
    const resolved = (await readEvents(id)).find((e) => e.event === 'approval_resolved');
    expect(JSON.parse(resolved?.data ?? '{}')).toMatchObject({ decision: 'deny', by: 'timeout' });
  });

  it('answers 409 APPROVAL_ANSWERED, not 404, while the run restarts its container after a limit hit', async () => {
    const { request, id, run, answer, answerRoute, containers, status, ended } = await waitingRun();
    let restarted: () => void = () => undefined;
    containers.restart.mockImplementation(
      () => new Promise<void>((resolve) => (restarted = resolve)),
    );
    run.finish({ end: 'timeout', limit: 'pids' });
    await expect(answer).resolves.toMatchObject({ behavior: 'deny' });
    try {
      expect(containers.restart).toHaveBeenCalledWith('dev');
      expect(await status(id)).toBe('running');
      const late = await request('POST', answerRoute, { decision: 'allow' });
      expect(late.json()).toMatchObject({ statusCode: 409, code: 'APPROVAL_ANSWERED' });
    } finally {
      restarted();
    }
    expect(await ended(id)).toMatchObject({ status: 'failed', errorCode: 'PIDS_LIMIT' });
  });

  it('denies what the run waits on when it is cancelled', async () => {
    const { request, id, answer } = await waitingRun();
    await request('POST', `/api/executions/${id}/cancel`);
    await expect(answer).resolves.toMatchObject({ behavior: 'deny' });
    const shown = await request('GET', `/api/executions/${id}`);
    expect(shown.json()).toMatchObject({ status: 'cancelled', pendingApprovals: [] });
  });

  it('replays a pending approval to a reconnecting stream, then its answer after Last-Event-ID', async () => {
    const { request, id, requestId, answerRoute, listen } = await waitingRun();
    const url = `${await listen()}/api/executions/${id}/events`;
    const headers = { authorization: `Bearer ${TOKEN}` };
    const untilType = (type: string) => (event: SseEvent) => event.event === type;

    const first = await readSse(url, { headers, stopAfter: untilType('approval_request') });
    const asked = first.events.at(-1);
    expect(JSON.parse(asked?.data ?? '{}')).toMatchObject({ requestId, tool: 'Bash' });
    const reconnect = await readSse(url, { headers, stopAfter: untilType('approval_request') });
    expect(reconnect.events.at(-1)).toEqual(asked);

    await request('POST', answerRoute, { decision: 'allow' });
    const after = await readSse(url, {
      headers: { ...headers, 'last-event-id': asked?.id ?? '' },
      stopAfter: untilType('approval_resolved'),
    });
    expect(after.events.map((event) => event.event)).toEqual(['approval_resolved']);
    expect(JSON.parse(after.events[0].data)).toEqual({
      requestId,
      decision: 'allow',
      by: 'person',
    });
  });

  it('gives a run without approvals no way to ask, and refuses approvals with a mode that never asks', async () => {
    const { runner, submit, request } = await boot({
      PERMISSION_MODES: 'default,bypassPermissions',
    });
    const plain = await runner.runOf(await submit({ prompt: 'no approvals' }));
    expect(plain.request.askApproval).toBeUndefined();

    const refused = await request('POST', '/api/executions', {
      env: 'dev',
      prompt: 'x',
      approvals: true,
      permissionMode: 'bypassPermissions',
    });
    expect(refused.json()).toMatchObject({ statusCode: 400, code: 'VALIDATION_FAILED' });
  });
});
