// spool itself as a bench subject, on whatever store `--store` names. It runs the built package
// (`npm run bench` builds first), as its users do: the peers are measured as published too.
import { readFileSync } from 'node:fs';
import type { open as openType, Worker } from '../src/index.ts';
import type { Payload, Subject, WorkerEvents } from './scenarios.ts';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string;
};
/** The built package, as its users run it. */
export const built = new URL('../dist/index.js', import.meta.url).href;

export async function openSpool(store: string, name: string, prefetch: number): Promise<Subject> {
  const { open } = (await import(built)) as { open: typeof openType };
  const spool = await open(store);
  const queue = spool.queue<Payload>(name);
  let worker: Worker<Payload> | undefined;
  return {
    version,
    durable: spool.capabilities.durable,
    add: (data) => queue.add(data),
    addBulk: (data) => queue.addBulk(data.map((d) => ({ data: d }))),
    startWorker(concurrency: number, events: WorkerEvents): Promise<void> {
      worker = queue.process((job) => events.started(job.data), { concurrency, prefetch });
      worker.on('completed', () => events.completed());
      return Promise.resolve();
    },
    async close() {
      await worker?.close();
      // The store may be the user's own (a Redis, a schema): the run's jobs do not stay in it.
      await queue.purge();
      await spool.close();
    },
  };
}
