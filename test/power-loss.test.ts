// Simulated power loss (issue 4): the file store runs a random workload over a disk in memory,
// the power goes at a random moment, the store reopens over what the disk kept, and every
// answer it gave must still hold. Thousands of seeded crash points; a failure prints its seed.
//   SEED=123 node --import tsx --test test/power-loss.test.ts   replays one seed
//   RUNS=20000 SEED_FROM=2001 node --import tsx --test test/power-loss.test.ts  runs others
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { FileStore } from '../src/store/file/file-store.ts';
import type { Durability } from '../src/store/file/file-store.ts';
import { below, CrashDisk, mulberry32 } from './support/crash-io.ts';
import { Model, runWorkload, smoke, verify } from './support/workload.ts';

const root = mkdtempSync(join(tmpdir(), 'spool-power-'));
after(() => rmSync(root, { recursive: true, force: true }));

const runs = Number(process.env.RUNS ?? 2000);
const first = Number(process.env.SEED_FROM ?? 1);
const seeds =
  process.env.SEED === undefined ? Array.from({ length: runs }, (_, i) => first + i) : [Number(process.env.SEED)];
const durabilities: readonly Durability[] = ['fsync', 'fsync', 'interval', 'none'];

interface Outcome {
  durability: Durability;
  killed: boolean;
  calls: number;
  answered: number;
}

/** One crash point: work, maybe a kill -9 and a reopen and more work, then the power goes. */
async function crashRun(seed: number, trail: string[]): Promise<Outcome> {
  const rng = mulberry32(seed);
  const durability = durabilities[below(rng, durabilities.length)] as Durability;
  const segmentBytes = [1024, 2048, 4096][below(rng, 3)] as number;
  const disk = new CrashDisk(seed);
  const model = new Model(durability === 'fsync');
  const step = (what: string): number => trail.push(`${what}; disk ${JSON.stringify(disk.files())}`);
  step(`${durability} durability, ${segmentBytes}-byte segments`);
  let processes = 0;
  // Each process opens the store under a directory of its own: the disk is flat (see crash-io).
  const reopen = (): Promise<FileStore> => {
    const dir = join(root, `${seed}-${++processes}`);
    mkdirSync(dir);
    return FileStore.open(dir, { io: disk.io(), durability, segmentBytes, intervalMs: 2 });
  };
  // The dead process's store: its io throws now; closing stops its timers.
  const abandon = (store: FileStore): void => void store.close().catch(() => {});

  let store = await reopen();
  let calls = 1 + below(rng, 120);
  await runWorkload(store, rng, model, calls);
  const killed = rng() < 0.25;
  if (killed) {
    disk.kill();
    abandon(store);
    step(`killed after ${calls} calls, ${model.facts.length} answered`);
    store = await reopen();
    // A process crash keeps the page cache: every answer holds, whatever the durability.
    await verify(store, model, model.facts.length);
    const more = 1 + below(rng, 60);
    await runWorkload(store, rng, model, more);
    calls += more;
  }
  disk.crash(rng);
  abandon(store);
  step(`power lost after ${calls} calls, ${model.facts.length} answered, ${model.powerSafe} of them synced`);
  store = await reopen();
  try {
    await verify(store, model, model.powerSafe);
    await smoke(store, model);
  } finally {
    await store.close();
  }
  return { durability, killed, calls, answered: model.facts.length };
}

const withDeadline = async <T>(work: Promise<T>, ms: number): Promise<T> => {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer after ${ms} ms (a promise that never settles?)`)), ms);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
};

void test(`power loss at ${seeds.length} seeded crash points: every answered call holds, nothing is corrupt, the open always succeeds`, async (t) => {
  const started = Date.now();
  const tally = { fsync: 0, interval: 0, none: 0, killed: 0, calls: 0, answered: 0 };
  for (const seed of seeds) {
    const trail: string[] = [];
    try {
      const outcome = await withDeadline(crashRun(seed, trail), 10_000);
      tally[outcome.durability]++;
      tally.killed += outcome.killed ? 1 : 0;
      tally.calls += outcome.calls;
      tally.answered += outcome.answered;
    } catch (error) {
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      throw new Error(
        `seed ${seed} failed: ${message}\n  ${trail.join('\n  ')}\n  replay it: SEED=${seed} node --import tsx --test test/power-loss.test.ts`,
        { cause: error },
      );
    }
  }
  t.diagnostic(
    `${seeds.length} crash points in ${Date.now() - started} ms: ${tally.fsync} fsync, ${tally.interval} interval, ${tally.none} none; ${tally.killed} with a kill -9 and reopen first; ${tally.calls} calls, ${tally.answered} answered adds, acks and removes`,
  );
});
