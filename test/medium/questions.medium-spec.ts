import { randomUUID } from 'node:crypto';
import { readSse } from '../support/sse-client';
import { executionsApps, TOKEN } from './executions-app';
import { COLOR_QUESTION } from '../support/questions';

// Beside the approvals (approvals.medium-spec.ts): the model's AskUserQuestion, shown as
// questions with their options and answered through their own route.
jest.setTimeout(30_000);

const QUESTIONS = [
  {
    ...COLOR_QUESTION,
    options: [COLOR_QUESTION.options[0], { ...COLOR_QUESTION.options[1], preview: '<b>blue</b>' }],
  },
  {
    question: 'Which sizes?',
    header: 'Size',
    multiSelect: true,
    options: [
      { label: 'S', description: 'small' },
      { label: 'L', description: 'large' },
    ],
  },
];

describe('questions: the model asks a person through the API (fake runner)', () => {
  const boot = executionsApps();

  /** A run waiting on the model's two questions. */
  async function askingRun(settings: Record<string, string> = {}) {
    const app = await boot(settings);
    const id = await app.submit({ prompt: 'pick for me', approvals: true });
    const run = await app.runner.runOf(id);
    const input = { questions: QUESTIONS, metadata: { source: 'test' } };
    const asked = app.nextAskOf(id);
    const answer = run.askApproval('AskUserQuestion', input);
    const requestId = await asked;
    const route = `/api/executions/${id}/questions/${requestId}`;
    return { ...app, id, run, input, answer, requestId, route };
  }

  it('shows the questions with all their options, not as a yes/no approval; a reconnect replays them', async () => {
    const { request, id, requestId, listen } = await askingRun();
    const url = `${await listen()}/api/executions/${id}/events`;
    for (const _connection of ['first', 'reconnect']) {
      const stream = await readSse(url, {
        headers: { authorization: `Bearer ${TOKEN}` },
        stopAfter: (event) => event.event === 'question_request',
      });
      const asked = JSON.parse(stream.events.at(-1)?.data ?? '{}') as object;
      expect(asked).toMatchObject({ requestId, questions: QUESTIONS });
    }
    const shown = await request('GET', `/api/executions/${id}`);
    expect(shown.json()).toMatchObject({
      status: 'running',
      needsAttention: true,
      pendingApprovals: [],
      pendingQuestions: [{ requestId, toolUseId: 'toolu_AskUserQuestion', questions: QUESTIONS }],
    });
    const history = (await request('GET', '/api/executions')).json<{ items: object[] }>();
    expect(history.items).toEqual([expect.objectContaining({ id, needsAttention: true })]);
  });

  it('hands the answers to the run as the tool input the CLI expects, and tells them', async () => {
    const { request, id, run, input, answer, route, requestId, readEvents } = await askingRun();
    const answered = await request('POST', route, {
      answers: [{ selected: ['Blue'] }, { selected: ['S', 'L'], text: 'and XL' }],
    });
    expect(answered.json()).toMatchObject({ needsAttention: false, pendingQuestions: [] });
    const answers = { 'Which color?': 'Blue', 'Which sizes?': 'S, L, and XL' };
    await expect(answer).resolves.toEqual({
      behavior: 'allow',
      updatedInput: { ...input, answers },
    });

    run.succeed('done');
    const events = await readEvents(id);
    const asked = events.find((e) => e.event === 'question_request');
    expect(JSON.parse(asked?.data ?? '{}')).toMatchObject({ requestId, questions: QUESTIONS });
    const resolved = events.find((e) => e.event === 'question_resolved');
    expect(JSON.parse(resolved?.data ?? '{}')).toEqual({
      requestId,
      by: 'person',
      answered: true,
      answers,
    });
  });

  it('refuses answers that do not fit the questions (400), then 409 QUESTION_ANSWERED and 404s', async () => {
    const { request, id, route, requestId } = await askingRun();
    const refusals = [
      { answers: [{ selected: ['Blue'] }] },
      { answers: [{ selected: ['Green'] }, { selected: ['S'] }] },
      { answers: [{ selected: ['Red', 'Blue'] }, { selected: ['S'] }] },
      { answers: [{ selected: [] }, { selected: ['S'] }] },
      { answers: [{ selected: 'Blue' }, { selected: ['S'] }] },
    ];
    for (const body of refusals) {
      const refused = await request('POST', route, body);
      expect(refused.json()).toMatchObject({ statusCode: 400, code: 'VALIDATION_FAILED' });
    }
    const fine = { answers: [{ text: 'Purple' }, { selected: ['L'] }] };
    expect((await request('POST', route, fine)).statusCode).toBe(200);
    const again = await request('POST', route, fine);
    expect(again.json()).toMatchObject({ statusCode: 409, code: 'QUESTION_ANSWERED' });

    const unknown = await request('POST', `/api/executions/${id}/questions/${randomUUID()}`, fine);
    expect(unknown.json()).toMatchObject({ statusCode: 404, code: 'QUESTION_NOT_FOUND' });
    // A question is not an approval: the approvals route does not know it.
    const asApproval = await request('POST', `/api/executions/${id}/approvals/${requestId}`, {
      decision: 'allow',
    });
    expect(asApproval.json()).toMatchObject({ statusCode: 404, code: 'APPROVAL_NOT_FOUND' });
  });

  it('declines questions nobody answers within APPROVAL_TIMEOUT_MS (the tool does not run)', async () => {
    const { request, id, answer, route, run, readEvents } = await askingRun({
      APPROVAL_TIMEOUT_MS: '100',
    });
    await expect(answer).resolves.toMatchObject({ behavior: 'deny' });
    const late = await request('POST', route, { answers: [{ text: 'a' }, { text: 'b' }] });
    expect(late.json()).toMatchObject({ statusCode: 409, code: 'QUESTION_ANSWERED' });

    run.succeed('done');
    const resolved = (await readEvents(id)).find((e) => e.event === 'question_resolved');
    expect(JSON.parse(resolved?.data ?? '{}')).toMatchObject({ answered: false, by: 'timeout' });
  });

  it('never shows questions without their options: a malformed ask is denied unasked', async () => {
    const { runner, submit, request } = await boot();
    const id = await submit({ prompt: 'x', approvals: true });
    const run = await runner.runOf(id);
    const bare = { questions: [{ question: 'Proceed?', header: 'Go' }] };
    await expect(run.askApproval('AskUserQuestion', bare)).resolves.toMatchObject({
      behavior: 'deny',
    });
    const shown = await request('GET', `/api/executions/${id}`);
    expect(shown.json()).toMatchObject({ needsAttention: false, pendingQuestions: [] });
  });
});
