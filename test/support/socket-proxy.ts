import { connect } from 'node:net';
import { dockerCli } from './docker-cli';

/**
 * Built by scripts/build-images.sh from docker/socket-proxy. SOCKET_PROXY_IMAGE points the tests
 * at another build of it (one made from a work tree, say) without retagging the shared image.
 */
export const PROXY_IMAGE = process.env.SOCKET_PROXY_IMAGE ?? 'claudecode-socket-proxy:latest';

export function requireProxyImage(): void {
  try {
    dockerCli('image', 'inspect', PROXY_IMAGE);
  } catch {
    throw new Error(`This test needs ${PROXY_IMAGE}. Run scripts/build-images.sh.`);
  }
}

/** Waits until the proxy answers its own ping through to the engine. */
export async function waitForPing(url: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      // Each try is bounded: a connection the port takes before the proxy behind it is up may
      // never be answered, and an unbounded fetch then hung the suite's setup past its timeout.
      const reply = await fetch(`${url}/_ping`, { signal: AbortSignal.timeout(2_000) });
      if (reply.status === 200) return;
    } catch {
      // Not listening yet, or no answer within the try's bound.
    }
    if (Date.now() > deadline) throw new Error(`the socket proxy at ${url} never answered`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/**
 * Sends bytes as they are (no client to tidy the head or the body) and returns everything the
 * proxy answers until it closes the connection.
 */
export function sendRaw(url: string, bytes: Buffer | string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise<string>((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
    socket.on('close', () => resolve(received));
    socket.on('error', reject);
    socket.write(bytes);
  });
}
