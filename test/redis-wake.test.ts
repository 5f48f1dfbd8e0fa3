// Who wakes for an add on Redis: the sleepers it names, not a lease in every process; and what
// happens to the wakes of sleepers that are gone. Each test has a private redis-server, so its
// script calls can be counted.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { open } from '../src/index.ts';
import type { LeasedJob, Spool } from '../src/index.ts';
import { PrivateRedis, redisServerProblem, skipUnless } from './fixtures/redis.ts';

const skip = skipUnless(
  redisServerProblem(),
  'the redis-server binary',
  'install redis-server (apt-get install redis-server)',
);
const servers: PrivateRedis[] = [];
const admins: Redis[] = [];
const children = new Set<ChildProcess>();
// A test that fails midway leaves its admin client connected, which would retry a stopped
// server and keep the file's process alive: every client goes before the servers do.
after(async () => {
  for (const child of children) child.kill('SIGKILL');
  for (const admin of admins) admin.disconnect();
  await Promise.all(servers.map((s) => s.stop()));
});

/** A private redis-server and a plain client to look at it with, both gone after the file. */
async function server(): Promise<{ url: string; admin: Redis }> {
  const s = await PrivateRedis.start();
  servers.push(s);
  const admin = new Redis(s.url);
  admins.push(admin);
  return { url: s.url, admin };
}

/** A worker process (test/fixtures/redis-worker.ts); `onDone` sees the id of each job it finished. */
async function startWorker(url: string, queue: string, concurrency: number, onDone: (id: string) => void) {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'test/fixtures/redis-worker.ts', url, url, queue, String(concurrency), 'work'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  children.add(child);
  child.once('exit', () => children.delete(child));
  const lines = createInterface({ input: child.stdout });
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`worker exited early with ${code}`)));
    lines.on('line', (line) => {
      if (line === 'ready') resolve();
      else if (line.startsWith('done ')) onDone(line.slice(5));
    });
  });
  return child;
}

async function scriptCalls(admin: Redis): Promise<number> {
  const stats = await admin.info('commandstats');
  return [...stats.matchAll(/cmdstat_eval(?:sha)?:calls=(\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0);
}

/** A lease of `spool` blocked on `queue` (until `signal`), once the store has noted its sleeper. */
async function blockedLease(
  spool: Spool,
  queue: string,
  admin: Redis,
  signal?: AbortSignal,
): Promise<{ jobs: Promise<LeasedJob<string>[]> }> {
  const before = await admin.zcard(`{spool:${queue}}:s`);
  const jobs = spool.queue<string>(queue).lease({ wait: '1h', signal });
  while ((await admin.zcard(`{spool:${queue}}:s`)) === before) await sleep(5);
  return { jobs };
}

void describe('redis store: wakes', { skip }, () => {
  void test(
    'with four idle worker processes an add costs the same script calls as with one',
    { timeout: 30_000 },
    async () => {
      const { url, admin } = await server();
      await using spool = await open(url);
      const q = spool.queue<number>('idle');
      let finished = (_id: string): void => {};
      const workers = await Promise.all([0, 1, 2, 3].map(() => startWorker(url, 'idle', 4, (id) => finished(id))));
      // Two lease lanes a worker, each blocked: eight sleepers before the first add.
      while ((await admin.zcard('{spool:idle}:s')) < 8) await sleep(10);
      await admin.config('RESETSTAT');
      const jobs = 60;
      for (let i = 0; i < jobs; i++) {
        const done = new Promise<string>((resolve) => (finished = resolve));
        const id = await q.add(i);
        assert.equal(await done, id);
      }
      const perJob = (await scriptCalls(admin)) / jobs;
      for (const worker of workers) worker.kill('SIGKILL');
      // The add; the lease that takes the job; the worker's next lease for its other free
      // slot, which finds nothing; the ack: four. Waking a lease in every process made it seven.
      assert.ok(perJob < 4.5, `${perJob.toFixed(2)} script calls a job`);
    },
  );

  void test(
    "a closed Spool's sleeper is forgotten: the next add wakes a lease of another process at once",
    { timeout: 30_000 },
    async () => {
      const { url, admin } = await server();
      await using waiting = await open(url);
      const other = await blockedLease(waiting, 'gone', admin);
      // This sleeper came last, so an add would name it first.
      const leaving = await open(url);
      const abort = new AbortController();
      const left = await blockedLease(leaving, 'gone', admin, abort.signal);
      abort.abort();
      assert.deepEqual(await left.jobs, []);
      await leaving.close();
      await using producer = await open(url);
      const started = Date.now();
      await producer.queue('gone').add('for whoever waits');
      const [job] = await other.jobs;
      const tookMs = Date.now() - started;
      assert.equal(job?.data, 'for whoever waits');
      assert.ok(tookMs < 2_000, `the other lease woke after ${tookMs} ms`);
    },
  );

  void test(
    'a job a process killed in its sleep was named for reaches another sleeper within 5 s',
    { timeout: 30_000 },
    async () => {
      const { url, admin } = await server();
      await using waiting = await open(url);
      const other = await blockedLease(waiting, 'killed', admin);
      const child = await startWorker(url, 'killed', 1, () => {});
      while ((await admin.zcard('{spool:killed}:s')) < 2) await sleep(10);
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
      await using producer = await open(url);
      const started = Date.now();
      await producer.queue('killed').add('still delivered');
      const [job] = await other.jobs;
      const tookMs = Date.now() - started;
      assert.equal(job?.data, 'still delivered');
      assert.ok(tookMs < 6_500, `the job waited ${tookMs} ms`);
    },
  );
  void test(
    'a worker process blocked on a queue runs a job another process nacked with a delay when the delay ends',
    { timeout: 30_000 },
    async () => {
      const { url, admin } = await server();
      await using spool = await open(url);
      const q = spool.queue<string>('retry');
      const id = await q.add('x');
      const [held] = await q.lease();
      let done = (_id: string): void => {};
      const finished = new Promise<string>((resolve) => (done = resolve));
      const child = await startWorker(url, 'retry', 1, (finishedId) => done(finishedId));
      // Just asleep: before this change it slept 5 s, till its sleeper asked again.
      while ((await admin.zcard('{spool:retry}:s')) < 1) await sleep(5);
      const dueAt = Date.now() + 300;
      await held!.nack({ delay: 300 });
      assert.equal(await finished, id);
      const lateMs = Date.now() - dueAt;
      child.kill('SIGKILL');
      assert.ok(lateMs < 2_000, `the job ran ${lateMs} ms after it fell due`);
    },
  );

  void test(
    "a worker process blocked before another process's lease expires runs the job at the visibility time-out",
    { timeout: 30_000 },
    async () => {
      const { url, admin } = await server();
      await using spool = await open(url);
      const q = spool.queue<string>('expiry', { backoff: { type: 'fixed', delay: '1m' } });
      let done = (_id: string): void => {};
      const finished = new Promise<string>((resolve) => (done = resolve));
      const child = await startWorker(url, 'expiry', 1, (finishedId) => done(finishedId));
      while ((await admin.zcard('{spool:expiry}:s')) < 1) await sleep(5);
      // This process's own blocked lease takes the job: its add wakes it and names no other sleeper.
      const { jobs } = await blockedLease(spool, 'expiry', admin);
      const id = await q.add('x', { visibility: 300 });
      const [held] = await jobs;
      assert.equal(held?.id, id);
      assert.equal(await finished, id);
      const lateMs = Date.now() - held.leaseUntil;
      child.kill('SIGKILL');
      assert.ok(lateMs < 2_000, `the job ran ${lateMs} ms after the lease ended`);
    },
  );
});
