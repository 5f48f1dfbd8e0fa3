// `spool work <queue> -- <command…>`: runs the command once per job, the payload as JSON on its
// stdin; exit 0 acks, anything else fails the attempt (retried with the queue's back-off).
// On a store or, with --server (or a data directory `spool serve` holds), on a remote spool through spool/client.
import { spawn } from 'node:child_process';
import { SpoolClient } from '../client/index.ts';
import { reach } from './target.ts';
import type { Where } from './target.ts';

export interface WorkOptions extends Where {
  concurrency: number;
}

interface Closable {
  on(event: 'failed' | 'dead', listener: (job: { id: string }, error: unknown) => void): unknown;
  on(event: 'error', listener: (error: unknown) => void): unknown;
  close(): Promise<void>;
}

function runCommand(command: readonly string[], data: unknown, signal?: AbortSignal): Promise<void> {
  const [file, ...args] = command as [string, ...string[]];
  return new Promise<void>((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['pipe', 'inherit', 'inherit'], signal });
    child.once('error', reject);
    child.once('exit', (code, exitSignal) =>
      code === 0 ? resolve() : reject(new Error(`${file} exited with ${exitSignal ?? code}`)),
    );
    child.stdin.end(JSON.stringify(data));
  });
}

async function until(worker: Closable): Promise<void> {
  const report = (job: { id: string }, error: unknown): void => console.error(`job ${job.id}: ${String(error)}`);
  worker.on('failed', report);
  worker.on('dead', report);
  worker.on('error', (error) => console.error(`spool work: ${String(error)}`));
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await worker.close();
}

export async function work(queue: string, command: readonly string[], options: WorkOptions): Promise<void> {
  if (command.length === 0) throw new Error('work: give the command to run after --');
  const { concurrency } = options;
  const target = await reach(options);
  if (target instanceof SpoolClient)
    return until(target.queue(queue).process((job) => runCommand(command, job.data), { concurrency }));
  await using spool = target;
  // The job's signal kills the command when its lease is lost.
  await until(spool.queue(queue).process((job) => runCommand(command, job.data, job.signal), { concurrency }));
}
