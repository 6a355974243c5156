import { lastToolResults } from '../support/fake-anthropic';
import { readSse, SseEvent } from '../support/sse-client';
import {
  appWithFakeUpstreamSuite,
  uniqueSuffix,
  workspaceFile as fileOf,
} from '../support/test-app';
import { COLOR_QUESTION } from '../support/questions';

/** Long enough for a test to answer an ask it has just seen; the timeout test waits it out. */
const APPROVAL_TIMEOUT_MS = 8000;

interface ApprovalRequest {
  requestId: string;
  tool: string;
  input: { command?: string };
}

describe('approvals: the real CLI asks through the API before running a tool (real engine)', () => {
  const suite = appWithFakeUpstreamSuite({
    THROTTLE_CLAUDE_LIMIT: '1000',
    APPROVAL_TIMEOUT_MS: String(APPROVAL_TIMEOUT_MS),
  });

  const workspaceFile = (name: string) => fileOf(suite.t, 'dev', name);

  /** Submits a run whose model asks to run `command`, and waits for its approval_request event. */
  async function askedToRun(command: string) {
    suite.fake.replyBashTool(command);
    const submitted = await suite.t.client.POST('/api/executions', {
      body: { env: 'dev', prompt: 'run the command', approvals: true },
    });
    if (!submitted.data) throw new Error(`submit failed: ${JSON.stringify(submitted.error)}`);
    const id = submitted.data.id;
    const stream = await events(id, (event) => event.event === 'approval_request');
    const asked = JSON.parse(stream.events.at(-1)?.data ?? '{}') as ApprovalRequest;
    return { id, asked };
  }

  const events = (id: string, stopAfter?: (event: SseEvent) => boolean) =>
    readSse(`${suite.t.baseUrl}/api/executions/${id}/events`, {
      headers: { authorization: `Bearer ${suite.t.token}` },
      stopAfter,
    });

  const answer = (
    id: string,
    requestId: string,
    body: { decision: 'allow' | 'deny'; message?: string; scope?: 'once' | 'session' },
  ) =>
    suite.t.client.POST('/api/executions/{id}/approvals/{requestId}', {
      params: { path: { id, requestId } },
      body,
    });

  /** The run's events to its end, and the run as it then is. */
  async function finished(id: string) {
    const stream = await events(id);
    expect(stream.closedByServer).toBe(true);
    const run = await suite.t.client.GET('/api/executions/{id}', { params: { path: { id } } });
    return { events: stream.events, run: run.data };
  }

  /** What the model was given back for its tool call, in its last call. */
  const toolResultSeen = () =>
    lastToolResults(suite.fake.mainRequests.at(-1)?.body ?? ({ messages: [] } as never))[0];

  it('asks before a Bash call; allowing it runs the command in the container', async () => {
    const file = workspaceFile(`approved-${uniqueSuffix()}`);
    const { id, asked } = await askedToRun(`touch ${file.name}`);
    expect(asked).toMatchObject({ tool: 'Bash', input: { command: `touch ${file.name}` } });
    // The first stream was dropped; a reconnect replays the ask that still waits.
    const reconnect = await events(id, (event) => event.event === 'approval_request');
    expect(JSON.parse(reconnect.events.at(-1)?.data ?? '{}')).toEqual(asked);
    const waiting = await suite.t.client.GET('/api/executions/{id}', { params: { path: { id } } });
    expect(waiting.data).toMatchObject({ status: 'running', needsAttention: true });
    expect(file.exists()).toBe(false);

    expect((await answer(id, asked.requestId, { decision: 'allow' })).response.status).toBe(200);
    const { run, events: all } = await finished(id);
    expect(run).toMatchObject({ status: 'succeeded', needsAttention: false, pendingApprovals: [] });
    expect(file.exists()).toBe(true);
    expect(toolResultSeen()?.is_error).not.toBe(true);
    const resolved = all.find((event) => event.event === 'approval_resolved');
    expect(JSON.parse(resolved?.data ?? '{}')).toMatchObject({ decision: 'allow', by: 'person' });
  });

  it('denying it leaves no effect, and the model is told the denial', async () => {
    const file = workspaceFile(`denied-${uniqueSuffix()}`);
    const { id, asked } = await askedToRun(`touch ${file.name}`);
    const denied = await answer(id, asked.requestId, {
      decision: 'deny',
      message: 'not in this repo',
    });
    expect(denied.response.status).toBe(200);

    const { run } = await finished(id);
    expect(run).toMatchObject({ status: 'succeeded' });
    expect(file.exists()).toBe(false);
    expect(toolResultSeen()).toMatchObject({ is_error: true });
    expect(JSON.stringify(toolResultSeen())).toContain('not in this repo');
  });

  it('allow for this session: the same kind of command later in the session is not asked again', async () => {
    const first = workspaceFile(`session-a-${uniqueSuffix()}`);
    const second = workspaceFile(`session-b-${uniqueSuffix()}`);
    // The CLI suggests the rule `touch <first> *`, which the second command matches.
    suite.fake.enqueue({
      kind: 'tool_use',
      name: 'Bash',
      input: { command: `touch ${first.name}`, description: 'first' },
    });
    const { id, asked } = await askedToRun(`touch ${first.name} ${second.name}`);
    expect(asked.input.command).toBe(`touch ${first.name}`);
    const allowed = await answer(id, asked.requestId, { decision: 'allow', scope: 'session' });
    expect(allowed.response.status).toBe(200);

    const { run, events: all } = await finished(id);
    expect(run).toMatchObject({ status: 'succeeded' });
    expect(all.filter((event) => event.event === 'approval_request')).toHaveLength(1);
    expect(first.exists()).toBe(true);
    expect(second.exists()).toBe(true);
    expect(toolResultSeen()?.is_error).not.toBe(true);
    // Remembered in the session only: no settings file now allows it for later sessions.
    expect(workspaceFile('.claude/settings.local.json').exists()).toBe(false);
  });

  it('shows AskUserQuestion as questions with their options; the answer reaches the model', async () => {
    const questions = [COLOR_QUESTION];
    suite.fake.replyTool('AskUserQuestion', { questions });
    const submitted = await suite.t.client.POST('/api/executions', {
      body: { env: 'dev', prompt: 'ask me', approvals: true },
    });
    const id = submitted.data?.id ?? '';
    const stream = await events(id, (event) => event.event === 'question_request');
    const asked = JSON.parse(stream.events.at(-1)?.data ?? '{}') as { requestId: string };
    expect(asked).toMatchObject({ questions });

    const answered = await suite.t.client.POST('/api/executions/{id}/questions/{requestId}', {
      params: { path: { id, requestId: asked.requestId } },
      body: { answers: [{ selected: ['Blue'] }] },
    });
    expect(answered.response.status).toBe(200);
    const { run } = await finished(id);
    expect(run).toMatchObject({ status: 'succeeded', pendingQuestions: [] });
    expect(toolResultSeen()?.is_error).not.toBe(true);
    expect(JSON.stringify(toolResultSeen()?.content)).toContain('\\"Which color?\\"=\\"Blue\\"');
  });

  it('denies an approval nobody answers after APPROVAL_TIMEOUT_MS: the command never runs', async () => {
    const file = workspaceFile(`unanswered-${uniqueSuffix()}`);
    const { id } = await askedToRun(`touch ${file.name}`);

    const { run, events: all } = await finished(id);
    expect(run).toMatchObject({ status: 'succeeded', pendingApprovals: [] });
    const resolved = all.find((event) => event.event === 'approval_resolved');
    expect(JSON.parse(resolved?.data ?? '{}')).toMatchObject({ decision: 'deny', by: 'timeout' });
    expect(file.exists()).toBe(false);
    expect(toolResultSeen()).toMatchObject({ is_error: true });
  });
});
