// Redis memory per queued job: `node --import tsx bench/redis-memory.ts [--jobs 50000] [--bytes 100] [--bullmq]`.
// Runs on a private redis-server (nothing else writes to it), adds the jobs in bulk and divides
// the INFO memory growth (used_memory) by the number of jobs. With --bullmq, BullMQ's addBulk
// (its defaults) is measured the same way on a second private server, with the same payloads.
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { bytesCodec, open } from '../src/index.ts';
import { PrivateRedis } from '../test/fixtures/redis.ts';

const { values } = parseArgs({
  options: {
    jobs: { type: 'string', default: '50000' },
    bytes: { type: 'string', default: '100' },
    bullmq: { type: 'boolean', default: false },
  },
});
const jobs = Number(values.jobs);
const payload = new Uint8Array(Number(values.bytes)).fill(120);

/** Bytes per job: `addBatch(size)` adds `size` jobs; the first job is added before measuring, so the queue's own keys exist. */
async function perJob(addBatch: (size: number) => Promise<unknown>, url: string): Promise<number> {
  const admin = new Redis(url);
  const used = async (): Promise<number> => Number(/used_memory:(\d+)/.exec(await admin.info('memory'))?.[1]);
  try {
    await addBatch(1);
    const before = await used();
    for (let done = 0; done < jobs; done += 1000) await addBatch(Math.min(1000, jobs - done));
    return ((await used()) - before) / jobs;
  } finally {
    admin.disconnect();
  }
}

async function onPrivateServer(measure: (url: string, port: number) => Promise<number>): Promise<number> {
  const server = await PrivateRedis.start();
  try {
    return await measure(server.url, server.port);
  } finally {
    await server.stop();
  }
}

const spool = await onPrivateServer(async (url) => {
  const s = await open(url);
  const q = s.queue('memory', { codec: bytesCodec });
  try {
    return await perJob((size) => q.addBulk(Array.from({ length: size }, () => ({ data: payload }))), url);
  } finally {
    await s.close();
  }
});
console.log(`spool: ${jobs} waiting jobs of ${payload.byteLength} bytes: ${spool.toFixed(0)} bytes each`);

if (values.bullmq) {
  const { Queue } = await import('bullmq');
  // BullMQ stores JSON: a string of the same length stands in for the payload.
  const data = { p: 'x'.repeat(Math.max(0, payload.byteLength - 8)) };
  const bullmq = await onPrivateServer(async (url, port) => {
    const q = new Queue('memory', { connection: { host: '127.0.0.1', port } });
    try {
      return await perJob((size) => q.addBulk(Array.from({ length: size }, () => ({ name: 'job', data }))), url);
    } finally {
      await q.close();
    }
  });
  console.log(`BullMQ: ${jobs} waiting jobs of ${payload.byteLength} bytes: ${bullmq.toFixed(0)} bytes each`);
}
