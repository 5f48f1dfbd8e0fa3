// `spool work <queue> -- <command…>`: runs the command once per job, the payload as JSON on its
// stdin; exit 0 acks, anything else fails the attempt (retried with the queue's back-off).
// On a store or, with --server (or a data directory `spool serve` holds), on a remote spool through spool/client.
// SIGINT or SIGTERM stops leasing and waits --grace for the running commands; past it, or at a
// second signal, they are killed and their jobs handed back, to run again as fresh. A command
// past --timeout is killed and its attempt fails.
import { spawn } from 'node:child_process';
import { parseDuration } from '../index.ts';
import { SpoolClient } from '../client/index.ts';
import { reach } from './target.ts';
import type { Where } from './target.ts';

export interface WorkOptions extends Where {
  concurrency: number;
  /** How long a stop waits for the running commands, as a duration; default 30 s. */
  grace: string;
  /** How long one command may run, as a duration; past it the command is stopped and the attempt fails. Default none. */
  timeout?: string;
}

interface Closable {
  on(event: 'failed' | 'dead', listener: (job: { id: string }, error: unknown) => void): unknown;
  on(event: 'error', listener: (error: unknown) => void): unknown;
  once(event: 'closed', listener: () => void): unknown;
  close(options: { timeout: number }): Promise<void>;
}

/** How long a command stopped by its job's signal has to exit on SIGTERM before it gets SIGKILL. */
const killAfterMs = 5_000;

function runCommand(command: readonly string[], data: unknown, signal: AbortSignal): Promise<void> {
  const [file, ...args] = command as [string, ...string[]];
  return new Promise<void>((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['pipe', 'inherit', 'inherit'] });
    const stop = (): void => {
      child.kill('SIGTERM');
      setTimeout(
        () => child.exitCode === null && child.signalCode === null && child.kill('SIGKILL'),
        killAfterMs,
      ).unref();
    };
    if (signal.aborted) stop();
    else signal.addEventListener('abort', stop, { once: true });
    child.once('error', reject);
    child.once('exit', (code, exitSignal) => {
      signal.removeEventListener('abort', stop);
      if (code === 0) resolve();
      else reject(new Error(`${file} exited with ${exitSignal ?? code}`));
    });
    child.stdin.on('error', () => {});
    child.stdin.end(JSON.stringify(data));
  });
}

async function until(worker: Closable, graceMs: number): Promise<void> {
  const report = (job: { id: string }, error: unknown): void => console.error(`job ${job.id}: ${String(error)}`);
  worker.on('failed', report);
  worker.on('dead', report);
  worker.on('error', (error) => console.error(`spool work: ${String(error)}`));
  const stopSignal = (): Promise<void> =>
    new Promise<void>((resolve) => {
      const stop = (): void => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        resolve();
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
  // A worker closes on its own when the server refuses its leases for good (its token): the
  // command ends then too, with the refusal printed above, or it stayed up doing nothing.
  const closedItself = new Promise<true>((resolve) => worker.once('closed', () => resolve(true)));
  if (await Promise.race([closedItself, stopSignal().then(() => false)]))
    throw new Error('work: the worker stopped: the server refused its leases');
  // A second signal does not wait out the grace: the running commands are killed at once.
  void stopSignal().then(() => worker.close({ timeout: 0 }));
  await worker.close({ timeout: graceMs });
}

export async function work(queue: string, command: readonly string[], options: WorkOptions): Promise<void> {
  if (command.length === 0) throw new Error('work: give the command to run after --');
  const graceMs = parseDuration(options.grace, '--grace');
  // In ms for both workers: the remote one takes no duration strings.
  const limits = {
    concurrency: options.concurrency,
    ...(options.timeout === undefined ? {} : { timeout: parseDuration(options.timeout, '--timeout') }),
  };
  const target = await reach(options);
  // The job's signal kills the command when its lease is lost, its time is up, or a stop's grace is over.
  const run = (job: { data: unknown; signal: AbortSignal }): Promise<void> => runCommand(command, job.data, job.signal);
  if (target instanceof SpoolClient) return until(target.queue(queue).process(run, limits), graceMs);
  await using spool = target;
  await until(spool.queue(queue).process(run, limits), graceMs);
}
