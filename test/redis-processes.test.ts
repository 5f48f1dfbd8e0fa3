// Real worker processes sharing one queue on the shared Redis.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { after, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { open } from '../src/index.ts';
import { dropPrefix, redisProblem, redisUrl, skipUnless, withPrefix } from './fixtures/redis.ts';

const skip = skipUnless(
  await redisProblem(),
  `Redis at ${redisUrl}`,
  'start redis-server on 127.0.0.1:6379 or set SPOOL_REDIS_URL',
);
const stem = `spool-proc-${process.pid}-`;
const children = new Set<ChildProcess>();
after(async () => {
  for (const child of children) child.kill('SIGKILL');
  if (skip === false) {
    await dropPrefix(redisUrl, stem);
    const redis = new Redis(redisUrl);
    await redis.del(`${stem}many:held`, `${stem}killed:held`);
    redis.disconnect();
  }
});

/** Starts a worker process; `onLine` sees each line it prints. Resolves once it is working. */
async function startWorker(args: string[], onLine: (line: string) => void): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/redis-worker.ts', ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  const lines = createInterface({ input: child.stdout });
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`worker exited early with ${code}`)));
    lines.on('line', (line) => (line === 'ready' ? resolve() : onLine(line)));
  });
  return child;
}

async function kill9(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

void describe('redis store: worker processes', { skip }, () => {
  void test('8 worker processes on one queue never hold the same job at once and lose none', async () => {
    const url = withPrefix(redisUrl, `${stem}many`);
    await using spool = await open(url);
    const q = spool.queue<number>(`${stem}many`);
    const total = 2000;
    const done: string[] = [];
    const overlaps: string[] = [];
    const perWorker = Array.from({ length: 8 }, () => 0);
    let allDone = (): void => {};
    const finished = new Promise<void>((resolve) => (allDone = resolve));
    const workers = await Promise.all(
      perWorker.map((_, w) =>
        startWorker([url, redisUrl, q.name, '4', 'work'], (line) => {
          const [kind, id = ''] = line.split(' ');
          if (kind === 'overlap') overlaps.push(id);
          if (kind !== 'done') return;
          perWorker[w]!++;
          if (done.push(id) === total) allDone();
        }),
      ),
    );
    // Every worker is blocked on the queue before the jobs arrive, so all eight compete for them.
    const ids = await q.addBulk(Array.from({ length: total }, (_, i) => ({ data: i })));
    await finished;
    await Promise.all(workers.map(kill9));
    assert.deepEqual(overlaps, []);
    assert.ok(
      perWorker.every((n) => n > 0),
      `every process took jobs: ${perWorker.join(' ')}`,
    );
    assert.equal(done.length, total);
    assert.deepEqual([...done].sort(), [...ids].sort());
    const counts = await q.counts();
    assert.equal(counts.waiting + counts.active + counts.delayed, 0);
    assert.equal(counts.completed, Math.min(total, 1000));
  });

  void test('jobs of worker processes killed with -9 mid-job come back after the visibility time-out', async () => {
    const url = withPrefix(redisUrl, `${stem}killed`);
    await using spool = await open(url);
    const q = spool.queue<number>(`${stem}killed`, { visibility: '1s', backoff: { type: 'fixed', delay: 0 } });
    const ids = await q.addBulk(Array.from({ length: 20 }, (_, i) => ({ data: i })));
    const started: string[] = [];
    let allStarted = (): void => {};
    const startedTen = new Promise<void>((resolve) => (allStarted = resolve));
    const onLine = (line: string): void => {
      const [kind, id = ''] = line.split(' ');
      if (kind === 'start' && started.push(id) === 10) allStarted();
    };
    const hung = await Promise.all([0, 1].map(() => startWorker([url, redisUrl, q.name, '5', 'hang'], onLine)));
    await startedTen;
    await Promise.all(hung.map(kill9));
    assert.equal((await q.counts()).active, 10);
    const seen = new Map<string, number>();
    const worker = q.process((job) => void seen.set(job.id, job.attempt), { concurrency: 4 });
    await Promise.all(ids.map((id) => q.waitFor(id, { timeout: '10s' })));
    await worker.close();
    assert.equal(seen.size, 20);
    for (const id of started) assert.equal(seen.get(id), 2, `job ${id} ran again as attempt 2`);
    assert.equal([...seen.values()].filter((attempt) => attempt === 1).length, 10);
  });
});
