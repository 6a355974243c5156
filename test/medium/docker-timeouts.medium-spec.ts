import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { loadConfig } from '../../src/common/config/load-config';
import { Metrics } from '../../src/common/metrics/metrics';
import { DockerTimeoutError } from '../../src/docker/docker.errors';
import { DockerService } from '../../src/docker/docker.service';

/**
 * A Docker engine that accepts every call and then takes its time: it answers the archive route
 * with its headers and a first chunk, and never the rest; it never answers an inspect.
 */
function slowEngine(): { socketPath: string; served: Set<ServerResponse>; close(): Promise<void> } {
  const dir = mkdtempSync(join(tmpdir(), 'cca-slow-engine-'));
  const socketPath = join(dir, 'docker.sock');
  const served = new Set<ServerResponse>();
  const server: Server = createServer((request: IncomingMessage, response: ServerResponse) => {
    served.add(response);
    if (request.url?.includes('/archive')) {
      response.writeHead(200, { 'content-type': 'application/x-tar' });
      response.write(Buffer.alloc(512));
    }
  });
  server.listen(socketPath);
  return {
    socketPath,
    served,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          rmSync(dir, { recursive: true, force: true });
          resolve();
        });
      }),
  };
}

describe('DockerService against an engine that is slow, not gone', () => {
  let engine: ReturnType<typeof slowEngine>;
  let metrics: Metrics;

  beforeEach(() => {
    engine = slowEngine();
    metrics = new Metrics();
  });

  function dockerTimingOutAfter(timeoutMs: number): DockerService {
    const config = loadConfig({
      API_TOKEN: 'x'.repeat(32),
      DOCKER_SOCKET: engine.socketPath,
      DOCKER_TIMEOUT_MS: String(timeoutMs),
    });
    return new DockerService(config, metrics);
  }

  afterEach(() => engine.close());

  it('answers a call that outlives DOCKER_TIMEOUT_MS with 504 DOCKER_TIMEOUT, not DOCKER_UNAVAILABLE', async () => {
    const failure = await dockerTimingOutAfter(200)
      .inspectContainer('claude-agent-dev')
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(DockerTimeoutError);
    expect(failure).toMatchObject({ statusCode: 504, code: 'DOCKER_TIMEOUT' });
    // Counted once, under its operation, for GET /metrics.
    expect(await metrics.scrape()).toContain(
      'claudecode_docker_errors_total{operation="inspect the container",kind="timeout"} 1\n',
    );
  });

  it('destroys an archive read that runs past its deadline instead of leaving it streaming', async () => {
    let stream: Readable | undefined;
    // Opening the archive gets all the time a loaded machine may need; only its read has a short
    // deadline, so the deadline always meets a stream that is open.
    const failure = await dockerTimingOutAfter(60_000)
      .readArchive(
        'read a transcript',
        'claude-agent-dev',
        '/x',
        async (archive) => {
          stream = archive;
          for await (const chunk of archive) void chunk;
        },
        200,
      )
      .catch((error: unknown) => error);
    expect(failure).toMatchObject({ statusCode: 504, code: 'DOCKER_TIMEOUT' });
    expect(stream?.destroyed).toBe(true);
    // The engine sees its connection go.
    const [response] = engine.served;
    await new Promise<void>((resolve) =>
      response.destroyed ? resolve() : response.once('close', () => resolve()),
    );
    expect(response.destroyed).toBe(true);
  });
});
