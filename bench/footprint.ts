// Memory per queued job and reopen time of the file store, each step in its own process:
//   node --expose-gc --import tsx bench/footprint.ts [jobs=1000000] [dir]
// fill: adds the jobs (100-byte payloads) and reports RSS per job beyond an empty store;
// reopen after a clean close; reopen after kill -9 (the fill process kills itself).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStore } from '../src/store/file/index.ts';
import type { NewJob } from '../src/store/contract.ts';

const gc = (globalThis as { gc?: () => void }).gc;
const payload = new Uint8Array(100).fill(120);

function rss(): number {
  gc?.();
  gc?.();
  return process.memoryUsage().rss;
}

function job(): NewJob {
  return {
    queue: 'q',
    payload,
    priority: 0,
    maxAttempts: 5,
    availableAt: 0,
    expiresAt: null,
    visibilityMs: 30_000,
    backoff: { kind: 'exponential', delayMs: 1000, maxDelayMs: 3_600_000, jitter: 0 },
    key: null,
  };
}

async function fill(dir: string, jobs: number, crash: boolean): Promise<void> {
  const store = await FileStore.open(dir, { durability: 'none' });
  const before = rss();
  const batch = Array.from({ length: 10_000 }, job);
  for (let added = 0; added < jobs; added += batch.length) await store.add({ now: Date.now(), jobs: batch });
  await store.sync();
  const after = rss();
  console.log(JSON.stringify({ step: 'fill', jobs, bytesPerJob: (after - before) / jobs, rssMB: after / 2 ** 20 }));
  if (crash) process.kill(process.pid, 'SIGKILL');
  await store.close();
}

async function reopen(dir: string, label: string): Promise<void> {
  const base = rss();
  const started = performance.now();
  const store = await FileStore.open(dir, { durability: 'none' });
  const ms = performance.now() - started;
  const [counts] = await store.counts({ now: Date.now(), queues: ['q'] });
  const after = rss();
  console.log(
    JSON.stringify({ step: label, ms, jobs: counts?.waiting, bytesPerJob: (after - base) / (counts?.waiting ?? 1) }),
  );
  await store.close();
}

const [mode, dirArg, jobsArg] = process.argv.slice(2);
if (mode === 'fill' || mode === 'fill-crash') await fill(dirArg as string, Number(jobsArg), mode === 'fill-crash');
else if (mode === 'reopen') await reopen(dirArg as string, jobsArg as string);
else {
  const jobs = Number(mode ?? 1_000_000);
  const run = (...args: string[]): void => {
    const out = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', import.meta.filename, ...args], {
      encoding: 'utf8',
    });
    for (const line of out.stdout.trim().split('\n').filter(Boolean)) {
      const r = JSON.parse(line) as { step: string; ms?: number; bytesPerJob: number; jobs: number };
      const time = r.ms === undefined ? '' : `  ${r.ms.toFixed(0)} ms`;
      console.log(
        `  ${r.step.padEnd(28)} ${String(r.jobs).padStart(9)} jobs  ${r.bytesPerJob.toFixed(1)} B/job RSS${time}`,
      );
    }
    if (out.status !== 0 && out.signal !== 'SIGKILL') process.stderr.write(out.stderr);
  };
  for (const crash of [false, true]) {
    const dir = mkdtempSync(join(tmpdir(), 'spool-footprint-'));
    run(crash ? 'fill-crash' : 'fill', dir, String(jobs));
    run('reopen', dir, crash ? 'reopen after kill -9' : 'reopen after clean close');
    rmSync(dir, { recursive: true, force: true });
  }
}
