// bee-queue with its own high-throughput settings (peers.md): no events, no job map, completed jobs kept.
import BeeQueue from 'bee-queue';
import type { Payload, Subject, WorkerEvents } from '../scenarios.ts';
import type { RedisTarget } from '../targets.ts';
import { versionOf } from './version.ts';

const closeTimeoutMs = 5_000;

export async function openBeeQueue(redis: RedisTarget, name: string): Promise<Subject> {
  const settings = {
    redis: { host: '127.0.0.1', port: redis.port },
    getEvents: false,
    sendEvents: false,
    storeJobs: false,
    removeOnSuccess: false,
  };
  const producer = new BeeQueue<Payload>(name, { ...settings, isWorker: false });
  await producer.ready();
  let worker: BeeQueue<Payload> | undefined;
  return {
    version: versionOf('bee-queue'),
    durable: redis.durable,
    add: (data) => producer.createJob(data).save(),
    addBulk: (data) => producer.saveAll(data.map((d) => producer.createJob(d))),
    async startWorker(concurrency: number, events: WorkerEvents) {
      const w = new BeeQueue<Payload>(name, { ...settings, isWorker: true, activateDelayedJobs: false });
      worker = w;
      await w.ready();
      w.on('succeeded', () => events.completed());
      w.on('error', (error) => console.error('bee-queue worker:', error.message));
      w.process(concurrency, (job) => Promise.resolve(events.started(job.data)));
    },
    async close() {
      await worker?.close(closeTimeoutMs);
      await producer.close(closeTimeoutMs);
    },
  };
}
