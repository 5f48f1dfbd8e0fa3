// Redis memory per queued job: `node --import tsx bench/redis-memory.ts [--jobs 50000] [--bytes 100]`.
// Runs on a private redis-server (nothing else writes to it), adds the jobs in bulk and divides
// the INFO memory growth (used_memory) by the number of jobs.
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { bytesCodec, open } from '../src/index.ts';
import { PrivateRedis } from '../test/fixtures/redis.ts';

const { values } = parseArgs({
  options: { jobs: { type: 'string', default: '50000' }, bytes: { type: 'string', default: '100' } },
});
const jobs = Number(values.jobs);
const payload = new Uint8Array(Number(values.bytes)).fill(120);
const server = await PrivateRedis.start();
const admin = new Redis(server.url);
const used = async (): Promise<number> => Number(/used_memory:(\d+)/.exec(await admin.info('memory'))?.[1]);
try {
  const spool = await open(server.url);
  const q = spool.queue('memory', { codec: bytesCodec });
  await q.add(payload); // the queue's own keys exist before the first measurement
  const before = await used();
  for (let done = 0; done < jobs; done += 1000)
    await q.addBulk(Array.from({ length: Math.min(1000, jobs - done) }, () => ({ data: payload })));
  const after = await used();
  console.log(
    `${jobs} waiting jobs of ${payload.byteLength} bytes: ${((after - before) / jobs).toFixed(0)} bytes each`,
  );
  await spool.close();
} finally {
  admin.disconnect();
  await server.stop();
}
