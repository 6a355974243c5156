import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { startTestApp, TestApp } from '../support/test-app';

/** Debian's chromium: `npx playwright install` cannot download a browser here. */
const CHROMIUM = '/usr/bin/chromium';
const OUTPUT_DIR = resolve(__dirname, '../../test-output');

/** The response Swagger UI shows after "Execute": its status cell and its body, as on the page. */
async function liveResponse(operation: Locator): Promise<{ status: number; body: unknown }> {
  const row = operation.locator('.live-responses-table tbody .response').first();
  await row.waitFor();
  const status = Number((await row.locator('.response-col_status').innerText()).trim());
  const body = await row.locator('.response-col_description .microlight').first().innerText();
  return { status, body: JSON.parse(body) };
}

/** Its accessible name is "Remove authorization"; the text is what people see. */
const logoutButton = (dialog: Locator): Locator =>
  dialog.locator('.auth-btn-wrapper button', { hasText: 'Logout' });

/** Opens the Authorize dialog, runs `act` in it, and closes it. */
async function inAuthorizeDialog(page: Page, act: (dialog: Locator) => Promise<void>) {
  await page.locator('.scheme-container button.authorize').click();
  const dialog = page.locator('.dialog-ux .modal-ux');
  await dialog.waitFor();
  await act(dialog);
  await dialog.locator('button.btn-done').click();
  await dialog.waitFor({ state: 'detached' });
}

describe('Swagger UI at /docs in a real browser', () => {
  let t: TestApp;
  let userDataDir: string;
  let context: BrowserContext;
  const cspViolations: string[] = [];

  beforeAll(async () => {
    t = await startTestApp({ ENVIRONMENTS: 'dev' });
    // A fresh profile, so no authorization persisted by an earlier run is picked up.
    userDataDir = mkdtempSync(join(tmpdir(), 'cca-chromium-'));
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
      viewport: { width: 1280, height: 1600 },
    });
  });

  afterAll(async () => {
    await context?.close();
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
    await t?.close();
  });

  it('authorizes, tries getContainerStatus for dev, then sees the 401 shape once logged out', async () => {
    const page = await context.newPage();
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text());
    });
    const docs = await page.goto(`${t.baseUrl}/docs`);
    expect(docs?.status()).toBe(200);
    expect(docs?.headers()['content-security-policy']).toContain("script-src 'self'");
    await page.locator('.swagger-ui .info .title').waitFor();

    await inAuthorizeDialog(page, async (dialog) => {
      await dialog.locator('input').first().fill(t.token);
      await dialog.locator('.auth-btn-wrapper button.authorize').click();
      await logoutButton(dialog).waitFor();
    });

    const operation = page.locator('#operations-containers-getContainerStatus');
    await operation.locator('.opblock-summary').first().click();
    await operation.locator('button.try-out__btn').click();
    await operation.locator('tr[data-param-name="env"] input').fill('dev');
    await operation.locator('button.execute').click();
    const authorized = await liveResponse(operation);
    expect(authorized).toEqual({
      status: 200,
      body: expect.objectContaining({
        env: 'dev',
        name: `${t.config.agent.containerPrefix}dev`,
        exists: false,
        running: false,
      }),
    });

    mkdirSync(OUTPUT_DIR, { recursive: true });
    await operation.screenshot({ path: join(OUTPUT_DIR, 'swagger-ui-authorized.png') });

    await inAuthorizeDialog(page, async (dialog) => {
      await logoutButton(dialog).click();
      await dialog.locator('.auth-btn-wrapper button.authorize').waitFor();
    });
    await operation.locator('button.execute').click();
    // The same table is re-rendered with the new answer.
    await operation
      .locator('.live-responses-table .response-col_status', { hasText: /^\s*401\s*$/ })
      .waitFor();
    const denied = await liveResponse(operation);
    expect(denied.body).toEqual({
      statusCode: 401,
      code: 'UNAUTHORIZED',
      message: expect.any(String),
      requestId: expect.any(String),
    });

    await page.screenshot({ path: join(OUTPUT_DIR, 'swagger-ui.png'), fullPage: true });
    expect(cspViolations).toEqual([]);
  });
});
