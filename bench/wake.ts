// How late a retry starts after its back-off ends (issue 13), per store:
//   node --import tsx bench/wake.ts [--jobs 200] [--store url ...]
// Default stores: memory:, a fresh file: directory, and Redis when SPOOL_REDIS_URL is set.
// A worker of 4 async slots, the others blocked in a lease; each job's handler throws on its
// first attempt, the queue's fixed back-off is 10 ms, and the figure is the time from the end
// of that back-off to the second attempt's start. Jobs go one at a time, so every retry finds
// the worker asleep and only the store's due time can wake it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { open } from '../src/index.ts';

const backoffMs = 10;
/** Retries run first and not counted: the JIT warms up on them. */
const warmup = 20;

const { values } = parseArgs({
  options: { jobs: { type: 'string', default: '200' }, store: { type: 'string', multiple: true } },
});
const jobs = Number(values.jobs);
const dir = mkdtempSync(join(tmpdir(), 'spool-wake-'));
const redis = process.env.SPOOL_REDIS_URL;
const stores = values.store ?? [
  'memory:',
  `file:${dir}`,
  ...(redis === undefined ? [] : [`${redis}${redis.includes('?') ? '&' : '?'}prefix=spool-wake-${process.pid}`]),
];

/** Milliseconds from each back-off's end to the second attempt's start. */
async function measure(url: string): Promise<number[]> {
  await using spool = await open(url);
  const q = spool.queue<number>(`wake-${process.pid}`, { backoff: { type: 'fixed', delay: backoffMs } });
  const failedAt = new Map<number, number>();
  let retried = (_late: number): void => {};
  const worker = q.process(
    // Async, as in issue 13: the free slots wait in a lease while the handler's promise runs.
    (job) => {
      const now = performance.now();
      if (job.attempt === 1) {
        failedAt.set(job.data, now);
        return Promise.reject(new Error('once'));
      }
      retried(now - (failedAt.get(job.data) as number) - backoffMs);
      return Promise.resolve();
    },
    { concurrency: 4 },
  );
  worker.on('error', () => {});
  const late: number[] = [];
  for (let i = 0; i < warmup + jobs; i++) {
    const started = new Promise<number>((resolve) => (retried = resolve));
    await q.add(i);
    const ms = await started;
    if (i >= warmup) late.push(ms);
  }
  await worker.close();
  return late;
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

try {
  console.log(`| store | retries | median ms | p90 ms | p99 ms | max ms |`);
  console.log(`| --- | ---: | ---: | ---: | ---: | ---: |`);
  for (const url of stores) {
    const late = (await measure(url)).sort((a, b) => a - b);
    const cells = [0.5, 0.9, 0.99, 1].map((q) => quantile(late, q).toFixed(1));
    console.log(`| ${url.replace(/\?.*/, '').replace(dir, '<tmp>')} | ${late.length} | ${cells.join(' | ')} |`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
