// BullMQ with its defaults (completed jobs kept, events stream on), on the parent's private redis-server.
import { Queue, Worker } from 'bullmq';
import type { Payload, Subject, WorkerEvents } from '../scenarios.ts';
import type { RedisTarget } from '../targets.ts';
import { versionOf } from './version.ts';

export async function openBullmq(redis: RedisTarget, name: string): Promise<Subject> {
  const connection = { host: '127.0.0.1', port: redis.port };
  const queue = new Queue<Payload>(name, { connection });
  await queue.waitUntilReady();
  let worker: Worker<Payload> | undefined;
  return {
    version: versionOf('bullmq'),
    durable: redis.durable,
    add: (data) => queue.add('job', data),
    addBulk: (data) => queue.addBulk(data.map((d) => ({ name: 'job', data: d }))),
    async startWorker(concurrency: number, events: WorkerEvents) {
      const w = new Worker<Payload>(name, (job) => Promise.resolve(events.started(job.data)), {
        connection,
        concurrency,
        autorun: false,
      });
      worker = w;
      w.on('completed', () => events.completed());
      w.on('error', (error) => console.error('bullmq worker:', error.message));
      await w.waitUntilReady();
      w.run().catch((error: unknown) => console.error('bullmq worker:', error));
    },
    async close() {
      await worker?.close();
      await queue.close();
    },
  };
}
