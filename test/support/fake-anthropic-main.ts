/**
 * Run the fake Anthropic API standalone (benchmarks, manual checks):
 *   npx tsx test/support/fake-anthropic-main.ts [--port N] [--host H] [--quiet]
 * Prints `FAKE_ANTHROPIC_URL=<url>` once listening; stops on SIGINT/SIGTERM.
 * Replies default to `echo: <prompt>`; other processes can script replies through the control
 * endpoints (POST /_fake/enqueue, POST /_fake/clear, GET /_fake/requests).
 */
import { startFakeAnthropic } from './fake-anthropic';

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const quiet = process.argv.includes('--quiet');
  const fake = await startFakeAnthropic({
    port: Number(flag('--port') ?? 0),
    host: flag('--host') ?? '127.0.0.1',
    control: true,
    onRequest: quiet
      ? undefined
      : (method, url, note) => console.log(`${new Date().toISOString()} ${method} ${url} ${note}`),
  });
  console.log(`FAKE_ANTHROPIC_URL=${fake.url}`);
  const stop = (): void => {
    void fake.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
