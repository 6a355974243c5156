import {
  ClaudeCodeApiError,
  streamExecution,
  type ApprovalAnswer,
  type ApprovalRequest,
  type ExecutionEvent,
  type QuestionRequest,
} from '../../../client/src';
import { waitUntil } from '../../support/wait';
import { COLOR_QUESTION } from '../../support/questions';

const BASE_URL = 'http://127.0.0.1:1';

const approval: ApprovalRequest = {
  requestId: 'req-a',
  tool: 'Bash',
  input: { command: 'touch a' },
  suggestions: [],
  toolUseId: 'toolu_1',
  requestedAt: '2026-12-02T00:00:00.000Z',
  expiresAt: '2026-12-02T00:05:00.000Z',
};

const question: QuestionRequest = {
  requestId: 'req-q',
  toolUseId: 'toolu_2',
  questions: [COLOR_QUESTION],
  requestedAt: '2026-12-02T00:00:00.000Z',
  expiresAt: '2026-12-02T00:05:00.000Z',
};

/**
 * A stand-in for the service behind `fetch`: the test pushes the run's SSE frames one by one,
 * and every answer posted is recorded (and answered with `answerStatus`).
 */
function stubService(answerStatus = 200, answerBody: object = {}) {
  const posts: { url: string; body: unknown; authorization: string | undefined }[] = [];
  const encoder = new TextEncoder();
  let stream!: ReadableStreamDefaultController<Uint8Array>;
  const body = new ReadableStream<Uint8Array>({ start: (controller) => (stream = controller) });
  let seq = 0;
  const fetch = (url: string | URL | Request, init?: RequestInit): Promise<Response> => {
    if (init?.method !== 'POST') return Promise.resolve(new Response(body, { status: 200 }));
    const headers = init.headers as Record<string, string>;
    posts.push({
      url: url instanceof Request ? url.url : url.toString(),
      body: JSON.parse(init.body as string),
      authorization: headers.authorization,
    });
    return Promise.resolve(new Response(JSON.stringify(answerBody), { status: answerStatus }));
  };
  return {
    posts,
    fetch,
    send(type: string, data: object) {
      seq += 1;
      stream.enqueue(
        encoder.encode(`id: ${seq}\nevent: ${type}\ndata: ${JSON.stringify(data)}\n\n`),
      );
    },
    end() {
      stream.enqueue(encoder.encode(`event: end\ndata: ${JSON.stringify({ id: 'run-1' })}\n\n`));
    },
  };
}

describe('streamExecution: approvals and questions answered by typed handlers', () => {
  it('hands each ask to its handler and posts the answer, while the stream goes on', async () => {
    const service = stubService();
    let decide: (answer: ApprovalAnswer) => void = () => undefined;
    const onApproval = jest.fn(
      (_ask: ApprovalRequest) => new Promise<ApprovalAnswer>((resolve) => (decide = resolve)),
    );
    const onQuestion = jest.fn((_ask: QuestionRequest) => ({ answers: [{ selected: ['Blue'] }] }));
    const seen: string[] = [];
    const events = streamExecution('run-1', {
      baseUrl: BASE_URL,
      token: 'secret',
      fetch: service.fetch,
      onApproval,
      onQuestion,
    });

    service.send('approval_request', approval);
    service.send('question_request', question);
    service.send('assistant', { type: 'assistant' });
    for await (const event of events) {
      seen.push(event.type);
      if (event.type !== 'assistant') continue;
      // The approval still waits for its person; the question is answered; the stream went on.
      await waitUntil(() => Promise.resolve(service.posts.length === 1), 'the question answer');
      expect(service.posts[0]).toEqual({
        url: `${BASE_URL}/api/executions/run-1/questions/req-q`,
        body: { answers: [{ selected: ['Blue'] }] },
        authorization: 'Bearer secret',
      });
      decide({ decision: 'allow', scope: 'session' });
      await waitUntil(() => Promise.resolve(service.posts.length === 2), 'the approval answer');
      service.end();
    }
    expect(onApproval).toHaveBeenCalledWith(approval, { signal: expect.any(AbortSignal) });
    expect(onQuestion).toHaveBeenCalledWith(question, { signal: expect.any(AbortSignal) });
    expect(service.posts[1]).toMatchObject({
      url: `${BASE_URL}/api/executions/run-1/approvals/req-a`,
      body: { decision: 'allow', scope: 'session' },
    });
    expect(seen).toEqual(['approval_request', 'question_request', 'assistant', 'end']);
  });

  it('aborts the handler of an ask resolved elsewhere and posts nothing; a refused answer is told', async () => {
    const service = stubService(409, { code: 'QUESTION_ANSWERED', message: 'too late' });
    const aborted: string[] = [];
    const errors: unknown[] = [];
    const events = streamExecution('run-1', {
      baseUrl: BASE_URL,
      token: 'secret',
      fetch: service.fetch,
      onApproval: (ask, { signal }) =>
        new Promise((resolve) =>
          signal.addEventListener('abort', () => {
            aborted.push(ask.requestId);
            resolve({ decision: 'allow' });
          }),
        ),
      onQuestion: () => ({ answers: [{ text: 'Purple' }] }),
      onAnswerError: (error) => errors.push(error),
    });
    service.send('approval_request', approval);
    service.send('approval_resolved', { requestId: 'req-a', decision: 'deny', by: 'timeout' });
    service.send('question_request', question);
    const drained = (async () => {
      const all: ExecutionEvent[] = [];
      for await (const event of events) all.push(event);
      return all;
    })();
    await waitUntil(() => Promise.resolve(errors.length === 1), 'the refused answer');
    service.end();
    await drained;

    expect(aborted).toEqual(['req-a']);
    expect(service.posts.map((post) => post.url)).toEqual([
      `${BASE_URL}/api/executions/run-1/questions/req-q`,
    ]);
    expect(errors[0]).toBeInstanceOf(ClaudeCodeApiError);
    expect(errors[0]).toMatchObject({
      status: 409,
      code: 'QUESTION_ANSWERED',
      message: 'too late',
    });
  });
});
