// `spool work <queue> -- <command…>`: runs the command once per job, the payload as JSON on its
// stdin; exit 0 acks, anything else fails the attempt (retried with the queue's back-off).
import { spawn } from 'node:child_process';
import { open } from '../index.ts';

export async function work(
  queue: string,
  command: readonly string[],
  options: { store: string; concurrency: number },
): Promise<void> {
  const [file, ...args] = command;
  if (file === undefined) throw new Error('work: give the command to run after --');
  await using spool = await open(options.store);
  const worker = spool.queue(queue).process(
    (job) =>
      new Promise<void>((resolve, reject) => {
        const child = spawn(file, args, { stdio: ['pipe', 'inherit', 'inherit'], signal: job.signal });
        child.once('error', reject);
        child.once('exit', (code, signal) =>
          code === 0 ? resolve() : reject(new Error(`${file} exited with ${signal ?? code}`)),
        );
        child.stdin.end(JSON.stringify(job.data));
      }),
    { concurrency: options.concurrency },
  );
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
