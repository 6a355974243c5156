import { randomUUID } from 'node:crypto';
import { DockerProcess } from '../docker/docker-process';
import { DockerService } from '../docker/docker.service';
import { AGENT_USER } from './agent-layout';
import { LimitCounters, limitCountersCommand, parseLimitCounters } from './limit-report';

/** A reading that takes longer than this is given up (no limit is told). */
const READ_TIMEOUT_MS = 2000;

/**
 * Reads containers' limit counters on request, for the CLIs that outlive their turns (whose
 * exit report comes too late). One long-lived process per container answers each read, so a
 * turn pays a round trip over an open exec, not an exec of its own; it reads with shell builtins,
 * so it answers even when the container has no fork left.
 */
export class LimitCounterReaders {
  private readonly readers = new Map<string, CounterReader>();

  constructor(private readonly docker: DockerService) {}

  /** The container's counters now, or null when they cannot be read (the container went away). */
  read(containerName: string): Promise<LimitCounters | null> {
    let reader = this.readers.get(containerName);
    if (!reader || reader.ended) {
      reader = new CounterReader(this.docker, containerName);
      this.readers.set(containerName, reader);
    }
    return reader.read();
  }

  close(containerName?: string): void {
    for (const [name, reader] of this.readers) {
      if (containerName !== undefined && name !== containerName) continue;
      reader.close();
      this.readers.delete(name);
    }
  }
}

/** The process of one container: reads are answered in order, one line each. */
class CounterReader {
  ended = false;
  private readonly process: DockerProcess;
  private readonly waiting: ((counters: LimitCounters | null) => void)[] = [];
  private pending = '';

  constructor(docker: DockerService, containerName: string) {
    this.process = docker.spawn(containerName, {
      cmd: limitCountersCommand(),
      user: AGENT_USER,
      runId: `limits-${randomUUID()}`,
    });
    this.process.stdout.on('data', (chunk: Buffer) => this.onOutput(chunk.toString('utf8')));
    this.process.stdin.on('error', () => undefined);
    void this.process.waitForExit().then(() => {
      this.ended = true;
      for (const answer of this.waiting.splice(0)) answer(null);
    });
  }

  read(): Promise<LimitCounters | null> {
    return new Promise((resolve) => {
      let settled = false;
      const answer = (counters: LimitCounters | null) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(counters);
      };
      // A reading given up still takes its line when it comes, so the next ones stay in order.
      const timer = setTimeout(() => answer(null), READ_TIMEOUT_MS);
      this.waiting.push(answer);
      this.process.stdin.write('\n');
    });
  }

  close(): void {
    this.process.stdin.end();
  }

  private onOutput(text: string): void {
    this.pending += text;
    let newline = this.pending.indexOf('\n');
    while (newline >= 0) {
      const line = this.pending.slice(0, newline);
      this.pending = this.pending.slice(newline + 1);
      this.waiting.shift()?.(parseLimitCounters(line));
      newline = this.pending.indexOf('\n');
    }
  }
}
