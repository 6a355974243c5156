import { createServer, IncomingMessage, Server } from 'node:http';

/** A web-standard handler (a Vercel function's shape) served over HTTP on 127.0.0.1. */
export interface ServedHandler {
  url: string;
  close(): Promise<void>;
}

/**
 * Serves `handler` at `http://127.0.0.1:<port><path>`: each request becomes a `Request` and the
 * handler's `Response` is written back, so tests reach an example function over real HTTP.
 */
export async function serveFetchHandler(
  handler: (request: Request) => Promise<Response>,
  path: string,
): Promise<ServedHandler> {
  const server: Server = createServer((incoming, outgoing) => {
    void (async () => {
      const headers = new Headers();
      for (const [name, value] of Object.entries(incoming.headers)) {
        if (typeof value === 'string') headers.set(name, value);
      }
      const body = await readBody(incoming);
      const response = await handler(
        new Request(`http://127.0.0.1${incoming.url ?? '/'}`, {
          method: incoming.method,
          headers,
          body: body === '' ? undefined : body,
        }),
      );
      outgoing.writeHead(response.status, Object.fromEntries(response.headers));
      outgoing.end(await response.text());
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}${path}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
