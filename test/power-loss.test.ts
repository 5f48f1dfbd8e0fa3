// Simulated power loss (issue 4): the file store runs a random workload over a disk in memory
// (test/support/crash-io.ts), the power goes or the process dies at a random moment, the store
// reopens over what the disk kept, and every answer it gave must still hold. 1,000 seeds by
// default, about 2,000 crash points; a failure prints its seed and the way to replay it:
//   SEED=123 node --import tsx --test test/power-loss.test.ts              one seed
//   RUNS=20000 SEED_FROM=1001 node --import tsx --test test/power-loss.test.ts  more seeds
// (A replay is exact but for the `interval` timer, which runs on real time.)
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { FileStore } from '../src/store/file/file-store.ts';
import type { Durability } from '../src/store/file/file-store.ts';
import { below, CrashDisk, mulberry32 } from './support/crash-io.ts';
import { Model, newJob, payloadFor, runWorkload, smoke, verify } from './support/workload.ts';

// Only the LOCK files are real: on tmpfs their fsyncs cost nothing.
const root = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'spool-power-'));
after(() => rmSync(root, { recursive: true, force: true }));

const runs = Number(process.env.RUNS ?? 1000);
const first = Number(process.env.SEED_FROM ?? 1);
const seeds =
  process.env.SEED === undefined ? Array.from({ length: runs }, (_, i) => first + i) : [Number(process.env.SEED)];
const durabilities: readonly Durability[] = ['fsync', 'fsync', 'interval', 'none'];

interface Outcome {
  durability: Durability;
  kills: number;
  crashes: number;
  calls: number;
  answered: number;
}

/**
 * One seed: one to three rounds of random work, each ended by a kill -9 (the page cache stays),
 * a power cut, or a power cut while the store closes; after each, a reopen and the checks.
 */
async function crashRun(seed: number, trail: string[]): Promise<Outcome> {
  const rng = mulberry32(seed);
  const durability = durabilities[below(rng, durabilities.length)] as Durability;
  const segmentBytes = [1024, 2048, 4096][below(rng, 3)] as number;
  const disk = new CrashDisk(seed);
  const model = new Model(durability === 'fsync');
  const outcome: Outcome = { durability, kills: 0, crashes: 0, calls: 0, answered: 0 };
  const step = (what: string): number =>
    trail.push(
      `${what}; ${model.facts.length} answers, ${model.powerSafe} synced; disk ${JSON.stringify(disk.files())}`,
    );
  step(`${durability} durability, ${segmentBytes}-byte segments`);
  // Some seeds reopen with other settings each time, as after a change of configuration.
  const reconfigures = rng() < 0.2;
  let processes = 0;
  // Each process opens the store under a directory of its own: the disk is flat (see crash-io).
  const reopen = (): Promise<FileStore> => {
    const dir = join(root, `${seed}-${++processes}`);
    mkdirSync(dir);
    if (!reconfigures || processes === 1)
      return FileStore.open(dir, { io: disk.io(), durability, segmentBytes, intervalMs: 2 });
    const now = durabilities[below(rng, durabilities.length)] as Durability;
    const bytes = [1024, 2048, 4096][below(rng, 3)] as number;
    model.syncsEveryCall = now === 'fsync';
    step(`reopened with ${now} durability, ${bytes}-byte segments`);
    return FileStore.open(dir, { io: disk.io(), durability: now, segmentBytes: bytes, intervalMs: 2 });
  };
  // The dead process's store: its io throws now; closing stops its timers.
  const abandon = (store: FileStore): void => void store.close().catch(() => {});

  let store = await reopen();
  const rounds = 1 + below(rng, 3);
  for (let round = 0; round < rounds; round++) {
    const calls = 1 + below(rng, 100);
    outcome.calls += calls;
    await runWorkload(store, rng, model, calls);
    const end = rng();
    if (end < 0.25) {
      disk.kill();
      model.died();
      abandon(store);
      outcome.kills++;
      step(`round ${round}: killed after ${calls} calls`);
      store = await reopen();
      // A process crash keeps the page cache: every answer holds, whatever the durability.
      await verify(store, model, model.facts.length);
      // And the open made durable all it found.
      model.powerSafe = model.facts.length;
      continue;
    }
    if (end < 0.35) {
      // The power goes while the store closes: its last checkpoint may be half written.
      const closing = store.close();
      closing.catch(() => {});
      for (let i = below(rng, 12); i > 0; i--) await new Promise<void>((resolve) => setImmediate(resolve));
    }
    disk.crash(rng);
    model.poweredOff();
    abandon(store);
    outcome.crashes++;
    step(`round ${round}: power lost after ${calls} calls`);
    store = await reopen();
    await verify(store, model, model.facts.length);
  }
  try {
    await smoke(store, model);
  } finally {
    await store.close();
  }
  // A clean close and reopen changes nothing.
  step('closed');
  store = await reopen();
  try {
    await verify(store, model, model.facts.length);
  } finally {
    await store.close();
  }
  outcome.answered = model.facts.length;
  return outcome;
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

void test(`power cuts and kill -9 at random moments, ${seeds.length} seeds: every answered call holds, nothing is corrupt, the open always succeeds`, async (t) => {
  const started = Date.now();
  const tally = { fsync: 0, interval: 0, none: 0, kills: 0, crashes: 0, calls: 0, answered: 0 };
  for (const seed of seeds) {
    const trail: string[] = [];
    try {
      const outcome = await withDeadline(crashRun(seed, trail), 10_000);
      tally[outcome.durability]++;
      tally.kills += outcome.kills;
      tally.crashes += outcome.crashes;
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
    `${seeds.length} seeds in ${Date.now() - started} ms (${tally.fsync} fsync, ${tally.interval} interval, ${tally.none} none): ${tally.crashes} power cuts and ${tally.kills} kills, each followed by a reopen and the checks; ${tally.calls} calls, ${tally.answered} answers checked at the end`,
  );
});

// The crash runs above found these; each test below fails without its fix.
void describe('regressions found by the crash runs', () => {
  const dirFor = (name: string): string => {
    const dir = join(root, `${name}-${Math.random().toString(36).slice(2)}`);
    mkdirSync(dir);
    return dir;
  };
  const now = 1_000_000;
  const job = (queue: string, size: number, tag = size) => newJob(queue, payloadFor(tag, size));
  /** A power cut that keeps every directory change and drops every unsynced write. */
  const dropUnsynced = (): number => 0;

  void test('a job released while a checkpoint is written keeps its segment until the release is durable', async () => {
    const disk = new CrashDisk();
    const store = await FileStore.open(dirFor('release'), { io: disk.io(), durability: 'none', segmentBytes: 1024 });
    const added = await store.add({ now, jobs: [job('a', 300)] });
    assert.ok(added.ok);
    const id = added.ids[0] as string;
    for (let i = 0; i < 6; i++) await store.add({ now, jobs: [job('b', 600, i + 1)] });
    // Two checkpoints that both start after the job's segment: only the job keeps it.
    await store.checkpoint();
    await store.checkpoint();
    // The checkpoint took its image once it syncs its file; then the job goes, not durably (none).
    const held = disk.holdDatasync((name) => name.startsWith('checkpoint-'));
    const checkpoint = store.checkpoint();
    await held.reached;
    assert.deepEqual(await store.remove({ now, ids: [id], states: null }), [id]);
    held.release();
    await checkpoint;
    disk.crash(dropUnsynced);
    void store.close().catch(() => {});
    const reopened = await FileStore.open(dirFor('release'), { io: disk.io(), durability: 'none' });
    try {
      // The remove was lost with the power; the job is back, so its payload must be too.
      const [record] = await reopened.get({ now, ids: [id] });
      assert.ok(record !== null && record !== undefined);
      assert.ok(payloadFor(300, 300).equals(Buffer.from(record.payload)));
    } finally {
      await reopened.close();
    }
  });

  void test('after a kill -9, the reopen makes what it read durable before it checkpoints past it', async () => {
    const disk = new CrashDisk();
    const first = await FileStore.open(dirFor('kill'), { io: disk.io(), durability: 'none', segmentBytes: 1024 });
    const added = await first.add({ now, jobs: [job('a', 100)] });
    assert.ok(added.ok);
    const id = added.ids[0] as string;
    // Killed before anything synced the add: it is only in the page cache.
    disk.kill();
    void first.close().catch(() => {});
    const second = await FileStore.open(dirFor('kill'), { io: disk.io(), durability: 'none', segmentBytes: 1024 });
    // A job too big for the segment starts the next one; the checkpoint then stands for the first.
    await second.add({ now, jobs: [job('a', 1500)] });
    await second.checkpoint();
    disk.crash(dropUnsynced);
    void second.close().catch(() => {});
    const third = await FileStore.open(dirFor('kill'), { io: disk.io(), durability: 'none' });
    try {
      const [record] = await third.get({ now, ids: [id] });
      assert.ok(record !== null && record !== undefined, 'the job the checkpoint lists is there');
      assert.ok(payloadFor(100, 100).equals(Buffer.from(record.payload)), 'and its payload is intact');
    } finally {
      await third.close();
    }
  });

  void test('an empty payload at the very end of the pending bytes reads back before its segment exists', async () => {
    // Queue names of eight lengths: one of them puts the empty payload exactly at a record's end.
    for (let length = 1; length <= 8; length++) {
      const queue = 'q'.repeat(length);
      const store = await FileStore.open(dirFor('empty'), { io: new CrashDisk().io() });
      try {
        const added = store.add({ now, jobs: [job(queue, 0)] });
        // Leased in the same turn: the log has not created its first segment yet.
        const leased = store.lease({ now, queues: [queue], max: 1, visibilityMs: null });
        assert.ok((await added).ok);
        assert.equal((await leased).jobs[0]?.payload.byteLength, 0);
      } finally {
        await store.close();
      }
    }
  });
});
