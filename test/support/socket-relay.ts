import { createConnection, createServer, Server, Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A unix socket that relays to the real Docker socket and can be switched off and on, so a test
 * can take "Docker" away from the service and give it back without touching the engine.
 */
export class SocketRelay {
  readonly path: string;
  private server: Server | null = null;
  private readonly connections = new Set<Socket>();

  constructor(private readonly target = '/var/run/docker.sock') {
    this.path = join(mkdtempSync(join(tmpdir(), 'cca-relay-')), 'docker.sock');
  }

  async up(): Promise<void> {
    const server = createServer((client) => {
      const upstream = createConnection(this.target);
      this.connections.add(client).add(upstream);
      const forget = () => this.connections.delete(client) && this.connections.delete(upstream);
      client.on('close', forget);
      client.pipe(upstream).pipe(client);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
    });
    await new Promise<void>((resolve) => server.listen(this.path, resolve));
    this.server = server;
  }

  async down(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const socket of this.connections) socket.destroy();
    this.connections.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(this.path, { force: true });
  }
}
