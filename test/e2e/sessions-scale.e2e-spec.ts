import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { removeDockerObjects } from '../support/docker-cli';
import { envParams, startTestApp, TestApp } from '../support/test-app';
import { waitUntil } from '../support/wait';

const DIR = '/home/node/.claude/projects/-workspace';
const SESSIONS = 5000;
const transcript = readFileSync(join(__dirname, '..', 'fixtures', 'transcript.jsonl'));

// Writes the transcript from stdin under $2 fresh session ids, as the CLI's user would.
const COPY_SCRIPT = `mkdir -p "$1" && cat > /tmp/transcript.jsonl && i=0
while [ "$i" -lt "$2" ]; do
  cp /tmp/transcript.jsonl "$1/$(cat /proc/sys/kernel/random/uuid).jsonl"; i=$((i + 1))
done`;

describe('sessions at scale (real engine)', () => {
  let t: TestApp;

  beforeAll(async () => {
    // Listing 5,000 sessions is 50 pages, and the test lists them until the first scan is done:
    // more requests than the default IP and token buckets allow in a minute. Throttling is tested
    // elsewhere; here a 429 would hide what is measured.
    t = await startTestApp({
      ENVIRONMENTS: 'dev',
      THROTTLE_IP_LIMIT: '1000000',
      THROTTLE_TOKEN_LIMIT: '1000000',
    });
  });

  afterAll(async () => {
    await t.close();
    removeDockerObjects(t.config.agent.containerPrefix);
  });

  it(`lists ${SESSIONS} sessions page by page, never answering 5xx`, async () => {
    expect(
      (await t.client.POST('/api/containers/{env}/start', envParams('dev'))).data,
    ).toMatchObject({ running: true });
    const container = `${t.config.agent.containerPrefix}dev`;
    const copied = await t.docker.exec(container, {
      cmd: ['sh', '-c', COPY_SCRIPT, 'copy', DIR, String(SESSIONS)],
      stdin: transcript,
    });
    expect(copied.exitCode).toBe(0);

    const statuses = new Set<number>();
    /** Every session the list shows, paging through it. */
    const listAll = async (): Promise<Set<string>> => {
      const ids = new Set<string>();
      let cursor: string | undefined;
      do {
        const page = await t.client.GET('/api/sessions/{env}', {
          params: { path: { env: 'dev' }, query: { limit: 100, cursor } },
        });
        statuses.add(page.response.status);
        if (!page.data) throw new Error(`the list answered ${page.response.status}`);
        for (const item of page.data.items) ids.add(item.id);
        cursor = page.data.nextCursor ?? undefined;
      } while (cursor);
      return ids;
    };
    // The first scan reads every transcript once; the list answers meanwhile from the index.
    await waitUntil(async () => (await listAll()).size === SESSIONS, `${SESSIONS} sessions listed`);
    expect([...statuses]).toEqual([200]);

    const page = await t.client.GET('/api/sessions/{env}', {
      params: { path: { env: 'dev' }, query: { limit: 5 } },
    });
    expect(page.data?.items).toHaveLength(5);
    expect(page.data?.items[0]).toMatchObject({
      messageCount: 5,
      sizeBytes: transcript.length,
      title: 'Please run a tool: list the files in the workspace and then tell me what you…',
    });
  });
});
