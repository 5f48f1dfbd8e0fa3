// fsync and ENOSPC failures (issue 4): a failed fdatasync or a full disk is fatal for the store
// instance, never retried and pretended away (fsyncgate): every call waiting on it rejects with
// StorageError, every later write rejects too, reads still answer, and a reopen over what the
// disk kept finds nothing corrupt and no partial record.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Spool, StorageError } from '../src/index.ts';
import { FileStore } from '../src/store/file/file-store.ts';
import type { Durability } from '../src/store/file/file-store.ts';
import { below, CrashDisk, mulberry32 } from './support/crash-io.ts';
import type { Rng } from './support/crash-io.ts';
import { Model, newJob, payloadFor, queues, runWorkload, verify } from './support/workload.ts';

// Only the LOCK files are real: on tmpfs their fsyncs cost nothing.
const root = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'spool-fail-'));
after(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;
const freshDir = (): string => {
  const dir = join(root, String(++dirs));
  mkdirSync(dir);
  return dir;
};

const settleWithin = async <T>(promises: Promise<T>[], ms: number): Promise<PromiseSettledResult<T>[]> => {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`calls still unanswered after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([Promise.allSettled(promises), late]);
  } finally {
    clearTimeout(timer);
  }
};

const isStorageError = (error: unknown): boolean => error instanceof StorageError;

/** Every kind of write call, each of which must now reject with StorageError and change nothing. */
/** Opens the store again, checks the first `count` facts of the model, and closes it. */
async function verifyReopened(open: () => Promise<FileStore>, model: Model, count: number): Promise<void> {
  const store = await open();
  try {
    await verify(store, model, count);
  } finally {
    await store.close();
  }
}

async function assertWritesRefused(store: FileStore, model: Model): Promise<void> {
  const now = ++model.now;
  const before = await store.counts({ now, queues });
  const held = model.held[0]?.token ?? '1:1';
  const calls: [string, () => Promise<unknown>][] = [
    ['add', () => store.add({ now, jobs: [newJob('a', payloadFor(1, 100))] })],
    ['lease', () => store.lease({ now, queues, max: 10, visibilityMs: null })],
    ['ack', () => store.ack({ now, items: [{ token: held, result: null }] })],
    ['nack', () => store.nack({ now, token: held, delayMs: 0, error: null, kind: 'fail' })],
    ['extend', () => store.extend({ now, token: held, ms: 1000 })],
    ['remove', () => store.remove({ now, ids: [...model.payloads.keys()], states: null })],
    ['purge', () => store.purge({ now, queue: 'a' })],
    ['configure', () => store.configure({ now, queue: 'b', changes: { paused: true } })],
    ['sync', () => store.sync()],
  ];
  for (const [name, call] of calls) await assert.rejects(call(), isStorageError, `${name} after the failure`);
  // Reads still answer, and the refused calls changed nothing they show.
  assert.deepEqual(await store.counts({ now, queues }), before);
}

/** Sends a burst of adds and acks, then checks each one's answer: resolved, or StorageError. */
async function burst(store: FileStore, rng: Rng, model: Model): Promise<number> {
  const calls: Promise<unknown>[] = [];
  for (let i = 0; i < 12; i++) {
    const now = ++model.now;
    const payload = model.nextPayload(rng);
    calls.push(
      store.add({ now, jobs: [newJob(queues[i % 3] as string, payload)] }).then((result) => {
        assert.ok(result.ok);
        model.payloads.set(result.ids[0] as string, payload);
        model.answered({ kind: 'added', id: result.ids[0] as string });
      }),
    );
    const held = model.held.pop();
    if (held !== undefined) {
      model.touched.add(held.id);
      calls.push(
        store.ack({ now, items: [{ token: held.token, result: null }] }).then(([settle]) => {
          if (settle !== null) model.answered({ kind: 'finished', id: held.id });
        }),
      );
    }
  }
  const settled = await settleWithin(calls, 5000);
  const rejected = settled.filter((s) => s.status === 'rejected');
  for (const r of rejected) assert.ok(isStorageError(r.reason), `rejected with ${String(r.reason)}`);
  return rejected.length;
}

type Fault = 'EIO' | 'ENOSPC';

/** Work, then a fault, then more work until the store reports it; checks as the header says. */
async function faultRun(seed: number, fault: Fault): Promise<void> {
  const rng = mulberry32(seed);
  const durability = (fault === 'EIO' ? 'fsync' : ['fsync', 'interval', 'none'][below(rng, 3)]) as Durability;
  const segmentBytes = [1024, 4096][below(rng, 2)] as number;
  const disk = new CrashDisk(seed);
  const model = new Model(durability === 'fsync');
  const open = (): Promise<FileStore> => FileStore.open(freshDir(), { io: disk.io(), durability, segmentBytes });
  const store = await open();
  await runWorkload(store, rng, model, below(rng, 60));
  await settleWithin([store.sync()], 5000);
  if (fault === 'EIO') disk.failDatasync(1 + below(rng, 3), (name) => name.endsWith('.seg'));
  else disk.fillUpAfter(below(rng, 4000));
  let failed = false;
  for (let round = 0; round < 40 && !failed; round++) {
    failed = (await burst(store, rng, model)) > 0;
    // interval and none answer before syncing: the fault may show only at a sync.
    if (!failed) failed = (await settleWithin([store.sync()], 5000))[0]?.status === 'rejected';
  }
  assert.ok(failed, 'the fault never surfaced');
  await assertWritesRefused(store, model);
  // What was answered before the fault still reads back.
  await verify(store, model, model.facts.length, false);

  // A kill: the page cache keeps the partial write or the unsynced pages; no partial record may
  // come back, and everything answered holds.
  disk.kill();
  void store.close().catch(() => {});
  await verifyReopened(open, model, model.facts.length);
  // A power cut then: what was synced holds, nothing is corrupt.
  disk.crash(rng);
  await verifyReopened(open, model, model.powerSafe);
}

void describe('storage failures are fatal for the store instance', () => {
  void test('a deterministic EIO: the calls waiting on the failed fdatasync reject, then every write does', async () => {
    const disk = new CrashDisk(7);
    const store = await FileStore.open(freshDir(), { io: disk.io(), durability: 'fsync' });
    const now = 1000;
    const first = await store.add({ now, jobs: [newJob('a', payloadFor(1, 100))] });
    assert.ok(first.ok);
    disk.failDatasync(1);
    const waiting = [1, 2, 3].map((i) => store.add({ now, jobs: [newJob('a', payloadFor(1 + i, 100))] }));
    const settled = await settleWithin(waiting, 5000);
    for (const s of settled) assert.ok(s.status === 'rejected' && isStorageError(s.reason));
    const model = new Model(true);
    model.payloads.set(first.ids[0] as string, payloadFor(1, 100));
    await assertWritesRefused(store, model);
    assert.equal((await store.get({ now, ids: [first.ids[0] as string] }))[0]?.state, 'waiting');
    await store.close();
  });

  void test('EIO on the directory sync of a new segment: the calls waiting on it reject, then every write does', async () => {
    const disk = new CrashDisk(11);
    const model = new Model(true);
    const open = (): Promise<FileStore> =>
      FileStore.open(freshDir(), { io: disk.io(), durability: 'fsync', segmentBytes: 1024 });
    const store = await open();
    let now = model.now;
    // Two adds in the first segment, answered; the next ones start new segments, whose entries fail.
    for (let tag = 1; tag <= 2; tag++) {
      const payload = payloadFor(tag, 250);
      const added = await store.add({ now: ++now, jobs: [newJob('a', payload)] });
      assert.ok(added.ok);
      model.payloads.set(added.ids[0] as string, payload);
      model.answered({ kind: 'added', id: added.ids[0] as string });
    }
    // Past the checkpoint the first segment scheduled: the next directory sync is a rotation's.
    await store.checkpoint();
    disk.failSyncDir(1);
    const waiting = [4, 5].map((tag) => store.add({ now: ++now, jobs: [newJob('a', payloadFor(tag, 600))] }));
    for (const s of await settleWithin(waiting, 5000)) assert.ok(s.status === 'rejected' && isStorageError(s.reason));
    model.now = now;
    await assertWritesRefused(store, model);
    disk.crash(mulberry32(11));
    void store.close().catch(() => {});
    await verifyReopened(open, model, model.facts.length);
  });

  void test('EIO on a checkpoint fdatasync stops the store like one on the log; the checkpoint is never used, and a power cut after it loses nothing answered', async () => {
    for (let seed = 1; seed <= 30; seed++) {
      const rng = mulberry32(seed);
      const disk = new CrashDisk(seed);
      const model = new Model(true);
      const open = (): Promise<FileStore> =>
        FileStore.open(freshDir(), { io: disk.io(), durability: 'fsync', segmentBytes: 1024 });
      const store = await open();
      await runWorkload(store, rng, model, 20 + below(rng, 40));
      disk.failDatasync(1, (name) => name.startsWith('checkpoint-'));
      // Whichever checkpoint meets the failure (this one or one a rotation started) rejects.
      while (disk.datasyncFailurePending) await store.checkpoint().catch((e: unknown) => assert.ok(isStorageError(e)));
      await assertWritesRefused(store, model);
      disk.crash(rng);
      model.poweredOff();
      void store.close().catch(() => {});
      await verifyReopened(open, model, model.facts.length);
    }
  });

  // The table takes an add's jobs before its record is written: a refused add showed in counts
  // and listings (and could be leased) until a reopen, where its cut-off record was gone.
  for (const durability of ['fsync', 'interval', 'none'] as const)
    void test(`${durability}: an add refused for a full disk leaves no job behind; a job its key named stays`, async () => {
      const disk = new CrashDisk(5);
      const dir = freshDir();
      const open = async (): Promise<Spool> => Spool.create(await FileStore.open(dir, { io: disk.io(), durability }));
      const shown = async (spool: Spool): Promise<unknown[]> => {
        const q = spool.queue<string>('q');
        const listed = (await q.list('waiting')).jobs.map((job) => [job.id, job.data]);
        assert.deepEqual(
          (await q.peek(10)).map((job) => [job.id, job.data]),
          listed,
        );
        return [(await q.counts()).waiting, listed];
      };
      let kept: string;
      {
        await using spool = await open();
        const q = spool.queue<string>('q');
        kept = await q.add('kept', { key: 'k' });
        disk.fillUpAfter(10);
        await assert.rejects(
          q.addBulk([{ data: 'again', options: { key: 'k' } }, { data: 'refused' }]),
          isStorageError,
        );
        assert.deepEqual(await shown(spool), [1, [[kept, 'kept']]]);
        await assert.rejects(q.lease({ max: 10 }), isStorageError);
      }
      disk.freeSpace();
      await using spool = await open();
      assert.deepEqual(await shown(spool), [1, [[kept, 'kept']]]);
    });

  for (const fault of ['EIO', 'ENOSPC'] as const) {
    void test(`${fault} at random moments, 150 seeds: waiting calls reject with StorageError, later writes too, reopen finds nothing corrupt`, async () => {
      for (let seed = 1; seed <= 150; seed++) {
        try {
          await faultRun(seed, fault);
        } catch (error) {
          const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
          throw new Error(`${fault} seed ${seed} failed: ${message}`, { cause: error });
        }
      }
    });
  }
});
