import { open, redactUrl } from '../index.ts';

/** `spool demo`: adds N jobs and processes them with a worker, printing the rate. */
export async function demo(options: { store: string; jobs: number; concurrency: number }): Promise<void> {
  const { store, jobs, concurrency } = options;
  await using spool = await open(store);
  const queue = spool.queue<{ n: number }>('demo');
  const started = performance.now();
  await queue.addBulk(Array.from({ length: jobs }, (_, n) => ({ data: { n } })));
  let done = 0;
  const finished = new Promise<void>((resolve) => {
    const worker = queue.process(() => undefined, { concurrency });
    worker.on('completed', () => {
      if (++done === jobs) resolve();
    });
  });
  await finished;
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `spool demo on ${redactUrl(store)}: added and processed ${jobs} jobs in ${seconds.toFixed(2)}s (${Math.round(jobs / seconds)} jobs/s)`,
  );
  console.log(await queue.counts());
}
