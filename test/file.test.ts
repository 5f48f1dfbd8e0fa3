import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, test } from 'node:test';
import { LockedError, open, Spool, StorageError } from '../src/index.ts';
import { FileStore } from '../src/store/file/file-store.ts';
import { checkpointFiles, segmentFiles, spoolCli as spool, tempDirs } from './support/file-dirs.ts';
import { killLoop } from './support/kill-loop.ts';
import { newJob } from './support/workload.ts';

const freshDir = tempDirs('spool-file-');
const lastSegment = (dir: string): string => segmentFiles(dir).at(-1) as string;
/**
 * Adds 'one …', 'two …', 'three …' one at a time (long payloads, so damage aimed at one stays in
 * its record), then drops the checkpoints so an open must replay them. Returns the segment file.
 */
async function threeJobsUncheckpointed(dir: string): Promise<string> {
  {
    await using spool = await open(`file:${dir}`);
    const q = spool.queue('q');
    for (const data of ['one', 'two', 'three']) await q.add(`${data} ${'.'.repeat(64)}`);
  }
  forgetCheckpoints(dir);
  return lastSegment(dir);
}

/** Deletes the checkpoints, as if the process had died before writing them. */
const forgetCheckpoints = (dir: string): void => checkpointFiles(dir).forEach((f) => rmSync(f));

void describe('file store: durability', () => {
  void test('a held job (hold, Disque’s DEQUEUE) is replayed from the log as held', async () => {
    const dir = freshDir();
    let held: string;
    {
      await using spool = await open(`file:${dir}`);
      const q = spool.queue('q');
      held = await q.add('held', { visibility: '1h' });
      await q.add('next');
      assert.deepEqual(await spool.hold([held]), [held]);
    }
    forgetCheckpoints(dir);
    await using spool = await open(`file:${dir}`);
    const q = spool.queue('q');
    assert.equal((await q.get(held))?.state, 'delayed');
    assert.deepEqual(
      (await q.lease({ max: 10 })).map((j) => j.data),
      ['next'],
    );
  });

  void test('a requeue (Disque’s ENQUEUE) replays from the log as it happened: attempt kept, no nack, dead on the last', async () => {
    const dir = freshDir();
    const now = Date.now();
    const first = await FileStore.open(dir);
    const jobs = [newJob('q', Buffer.from('a')), { ...newJob('q', Buffer.from('b')), maxAttempts: 1 }];
    let ids: readonly string[];
    try {
      const added = await first.add({ now, jobs: [...jobs, newJob('q', Buffer.from('c'))] });
      assert.ok(added.ok);
      ids = added.ids;
      const { jobs: leased } = await first.lease({ now, queues: ['q'], max: 2, visibilityMs: 60_000 });
      const requeue = (token: string) => first.nack({ now, token, delayMs: 0, error: null, kind: 'requeue' });
      assert.deepEqual(
        [await requeue(leased[0]!.token), await requeue(leased[1]!.token)],
        [{ outcome: 'retry' }, { outcome: 'dead' }],
      );
    } finally {
      await first.close();
    }
    const expected = [
      ['waiting', 1, 0, []],
      ['dead', 1, 0, []],
      ['waiting', 0, 0, []],
    ];
    for (const replay of [false, true]) {
      if (replay) forgetCheckpoints(dir);
      const store = await FileStore.open(dir);
      try {
        const got = await store.get({ now, ids });
        const how = replay ? 'replayed' : 'from the checkpoint';
        assert.deepEqual(
          got.map((j) => [j?.state, j?.attempts, j?.nacks, j?.errors]),
          expected,
          how,
        );
        // Back in its old place: ahead of the job added after it.
        const peeked = await store.peek({ now, queue: 'q', limit: 10 });
        assert.deepEqual(
          peeked.map((j) => j.id),
          [ids[0], ids[2]],
          how,
        );
      } finally {
        await store.close();
      }
    }
  });

  void test('a clean close and reopen keeps every job in its state', async () => {
    const dir = freshDir();
    {
      await using spool = await open(`file:${dir}`);
      const q = spool.queue<number>('q');
      await q.addBulk(Array.from({ length: 10 }, (_, i) => ({ data: i })));
      const jobs = await q.lease({ max: 4 });
      for (const job of jobs.slice(0, 2)) await job.ack(job.data);
      await jobs[2]!.fail(new Error('bad'));
    }
    await using spool = await open(`file:${dir}`);
    const q = spool.queue<number>('q');
    const counts = await q.counts();
    assert.deepEqual(
      { ...counts },
      { waiting: 6, delayed: 0, active: 1, dead: 1, completed: 2, expired: 0, paused: false },
    );
    assert.equal((await q.peek())[0]?.data, 4);
    assert.equal((await q.dead()).jobs[0]?.lastError, 'Error: bad');
  });

  void test('a lease keeps its token over a reopen, with or without the checkpoint, and a forged one stays lost', async () => {
    const dir = freshDir();
    const now = Date.now();
    const first = await FileStore.open(dir);
    await first.add({ now, jobs: [newJob('q', Buffer.from('a')), newJob('q', Buffer.from('b'))] });
    const { jobs } = await first.lease({ now, queues: ['q'], max: 2, visibilityMs: 60_000 });
    await first.close();
    const [a, b] = jobs.map((j) => j.token) as [string, string];
    for (const replay of [false, true]) {
      if (replay) forgetCheckpoints(dir);
      const store = await FileStore.open(dir);
      assert.deepEqual(
        (await store.leases({ now, tokens: [a, b, `${jobs[0]?.id}:1`] })).map((r) => r?.token ?? null),
        [a, b, null],
      );
      await store.close();
    }
    const store = await FileStore.open(dir);
    assert.deepEqual(await store.ack({ now, items: [{ token: `${jobs[0]?.id}:1`, result: null }] }), [null]);
    assert.deepEqual(await store.ack({ now, items: [{ token: a, result: null }] }), ['q']);
    await store.close();
  });

  void test('an ack within a scope replays as it happened: out of scope stays leased, the rest completed', async () => {
    const dir = freshDir();
    const now = Date.now();
    const first = await FileStore.open(dir);
    await first.add({ now, jobs: [newJob('a.x', Buffer.from('1')), newJob('b', Buffer.from('2'))] });
    const { jobs } = await first.lease({ now, queues: ['a.x', 'b'], max: 2, visibilityMs: 60_000 });
    const items = jobs.map((j) => ({ token: j.token, result: null }));
    const scope = { queues: [], prefixes: ['a.'] };
    assert.deepEqual(await first.ack({ now, items, scope }), ['a.x', null]);
    const states = async (store: FileStore) =>
      (await store.get({ now, ids: jobs.map((j) => j.id) })).map((j) => [j?.state, j?.leaseUntil]);
    const seen = await states(first);
    assert.deepEqual(seen, [
      ['completed', null],
      ['active', now + 60_000],
    ]);
    await first.close();
    for (const replay of [false, true]) {
      if (replay) forgetCheckpoints(dir);
      const store = await FileStore.open(dir);
      assert.deepEqual(await states(store), seen, replay ? 'replayed' : 'from the checkpoint');
      await store.close();
    }
  });

  void test('meta documents survive a reopen', async () => {
    const dir = freshDir();
    const first = await FileStore.open(dir);
    await first.setMeta({ now: 0, entries: { 'topic/t': '{"subscribers":["a"]}', gone: 'x' } });
    await first.setMeta({ now: 0, entries: { gone: null } });
    await first.close();
    const second = await FileStore.open(dir);
    assert.deepEqual(await second.listMeta({ now: 0, prefix: '' }), ['topic/t']);
    assert.deepEqual(await second.getMeta({ now: 0, names: ['topic/t'] }), ['{"subscribers":["a"]}']);
    await second.close();
  });

  void test("queue settings and the list of queues survive a reopen, from a checkpoint or from the log's replay", async () => {
    const dir = freshDir();
    const first = await FileStore.open(dir);
    await first.add({ now: 0, jobs: [newJob('plain', new Uint8Array([1]))] });
    // A queue that had jobs and has none now is still one the store knows.
    await first.add({ now: 0, jobs: [newJob('emptied', new Uint8Array([1]))] });
    await first.purge({ now: 0, queue: 'emptied' });
    await first.configure({ now: 0, queue: 'tuned', changes: { maxLength: 3, maxAttempts: Infinity, paused: true } });
    const stored = await first.settings({ now: 0, queues: ['tuned'] });
    await first.close();
    for (const from of ['checkpoint', 'log']) {
      if (from === 'log')
        for (const name of readdirSync(dir)) if (name.startsWith('checkpoint-')) rmSync(join(dir, name));
      const again = await FileStore.open(dir);
      assert.deepEqual(await again.settings({ now: 0, queues: ['tuned'] }), stored, from);
      assert.deepEqual(await again.queues({ now: 0 }), ['emptied', 'plain', 'tuned'], from);
      assert.deepEqual(
        await again.listMeta({ now: 0, prefix: '' }),
        [],
        `${from}: settings are no meta document of core's`,
      );
      await again.close();
    }
  });

  void test('a torn or zeroed tail is cut off at open and the intact records stay', async () => {
    for (const tail of [Buffer.from([42, 0, 0, 0, 1, 2, 3]), Buffer.alloc(4096)]) {
      const dir = freshDir();
      {
        await using spool = await open(`file:${dir}`);
        await spool.queue('q').add('kept');
      }
      forgetCheckpoints(dir); // as after a crash: the open must replay the log
      appendFileSync(lastSegment(dir), tail);
      {
        await using spool = await open(`file:${dir}`);
        assert.equal((await spool.queue('q').counts()).waiting, 1);
        await spool.queue('q').add('after');
      }
      forgetCheckpoints(dir);
      await using spool = await open(`file:${dir}`);
      assert.deepEqual(
        (await spool.queue('q').peek(10)).map((j) => j.data),
        ['kept', 'after'],
      );
    }
  });

  for (const [damage, spoil] of [
    ['a flipped bit', (b: Buffer, at: number) => void (b[at] = (b[at] as number) ^ 0x01)],
    ['garbage', (b: Buffer, at: number) => void b.fill(0x5a, at, at + 16)],
    ['zeros', (b: Buffer, at: number) => void b.fill(0, at - 8, at + 24)],
  ] as const) {
    void test(`${damage} mid-segment stops the open naming file and offset; repair keeps every intact record`, async () => {
      const dir = freshDir();
      const segment = await threeJobsUncheckpointed(dir);
      const bytes = readFileSync(segment);
      const second = bytes.indexOf('two'); // inside the second record's payload
      spoil(bytes, second);
      writeFileSync(segment, bytes);
      await assert.rejects(
        open(`file:${dir}`),
        (e: unknown) =>
          e instanceof StorageError && /damaged record at offset \d+/.test(e.message) && e.message.includes(segment),
      );
      {
        await using spool = await open(`file:${dir}?repair=1`);
        const jobs = await spool.queue('q').peek(10);
        assert.deepEqual(
          jobs.map((j) => [j.id, (j.data as string).split(' ')[0]]),
          [
            ['1', 'one'],
            ['3', 'three'],
          ],
        );
      }
      await using spool = await open(`file:${dir}`);
      assert.equal((await spool.queue('q').counts()).waiting, 2);
    });
  }

  void test('damage in the last answered record is refused, not cut off as a torn tail', async () => {
    const dir = freshDir();
    const segment = await threeJobsUncheckpointed(dir);
    const bytes = readFileSync(segment);
    const last = bytes.indexOf('three');
    bytes[last] = (bytes[last] as number) ^ 0x01;
    writeFileSync(segment, bytes);
    await assert.rejects(
      open(`file:${dir}`),
      (e: unknown) => e instanceof StorageError && /damaged record/.test(e.message),
    );
  });

  void test('a missing segment stops the open; repair keeps the jobs of the others', async () => {
    const dir = freshDir();
    {
      const store = await FileStore.open(dir, { segmentBytes: 4096 });
      await using spool = await Spool.create(store);
      const q = spool.queue('q');
      for (let i = 0; i < 60; i++) await q.add({ i, pad: 'x'.repeat(100) });
    }
    forgetCheckpoints(dir);
    const segments = segmentFiles(dir);
    assert.ok(segments.length >= 3, `${segments.length} segments`);
    rmSync(segments[1]!);
    await assert.rejects(
      FileStore.open(dir),
      (e: unknown) => e instanceof StorageError && /segment missing/.test(e.message),
    );
    const repaired = await FileStore.open(dir, { repair: true });
    const [counts] = await repaired.counts({ now: Date.now(), queues: ['q'] });
    assert.ok(counts!.waiting > 0 && counts!.waiting < 60, `${counts!.waiting} jobs kept`);
    assert.equal(repaired.report.damage.length, 1);
    await repaired.close();
  });

  void test('no file handle outlives its store: open, rotate segments, close, 30 times', async () => {
    const dir = freshDir();
    const fds = (): number => readdirSync('/proc/self/fd').length;
    const before = fds();
    for (let round = 0; round < 30; round++) {
      const store = await FileStore.open(dir, { segmentBytes: 4096 });
      await using spool = await Spool.create(store);
      const q = spool.queue('q', { keepCompleted: false });
      await q.addBulk(Array.from({ length: 20 }, (_, i) => ({ data: { round, i, pad: 'x'.repeat(100) } })));
      for (const job of await q.lease({ max: 15 })) await job.ack();
    }
    assert.equal(fds(), before);
    await using spool = await open(`file:${dir}`);
    assert.equal((await spool.queue('q').counts()).waiting, 30 * 5);
  });

  void test('a checkpoint with a bad checksum is passed over for the one before it', async () => {
    const dir = freshDir();
    for (const data of ['a', 'b']) {
      await using spool = await open(`file:${dir}`);
      await spool.queue('q').add(data);
    }
    const [newest] = checkpointFiles(dir);
    const bytes = readFileSync(newest!);
    bytes[bytes.length - 10] = (bytes[bytes.length - 10] as number) ^ 0xff;
    writeFileSync(newest!, bytes);
    const store = await FileStore.open(dir);
    assert.deepEqual(store.report.badCheckpoints, [basename(newest!)]);
    await using spool = await Spool.create(store);
    assert.deepEqual(
      (await spool.queue('q').peek(10)).map((j) => j.data),
      ['a', 'b'],
    );
  });

  void test('spool check --repair sets a bad checkpoint aside, newest or older, and the directory then checks clean', async () => {
    for (const which of [0, 1]) {
      const dir = freshDir();
      for (const data of ['a', 'b', 'c']) {
        await using s = await open(`file:${dir}`);
        await s.queue('q').add(data);
      }
      const victim = checkpointFiles(dir)[which]!;
      const bytes = readFileSync(victim);
      bytes[bytes.length - 10] = (bytes[bytes.length - 10] as number) ^ 0xff;
      writeFileSync(victim, bytes);
      const found = spool('check', dir);
      assert.equal(found.status, 1, found.stdout);
      assert.match(found.stdout, /bad checkpoint checksum/);
      const repaired = spool('check', '--repair', dir);
      assert.equal(repaired.status, 0, repaired.stdout + repaired.stderr);
      const clean = spool('check', dir);
      assert.equal(clean.status, 0, clean.stdout);
      await using s = await open(`file:${dir}`);
      assert.deepEqual(
        (await s.queue('q').peek(10)).map((j) => j.data),
        ['a', 'b', 'c'],
      );
    }
  });

  void test('what a kill -9 in a checkpoint or segment write left (a file still named .tmp) goes at the next open', async () => {
    const dir = freshDir();
    {
      await using s = await open(`file:${dir}`);
      await s.queue('q').add('kept');
    }
    // The names writeCheckpoint and a rotation write before their rename, cut short.
    const leftovers = ['checkpoint-0000000000000099-000000000001.tmp', '000000000002.seg.tmp'];
    for (const name of leftovers) writeFileSync(join(dir, name), Buffer.alloc(4096, 7));
    await using s = await open(`file:${dir}`);
    assert.deepEqual(
      (await s.queue('q').peek(10)).map((j) => j.data),
      ['kept'],
    );
    const names = readdirSync(dir);
    for (const name of leftovers) assert.ok(!names.includes(name), names.join(' '));
  });

  void test('a clean close leaves a checkpoint at the end of the log: the next open replays nothing', async () => {
    const dir = freshDir();
    {
      await using spool = await open(`file:${dir}`);
      await spool.queue('q').addBulk(Array.from({ length: 100 }, (_, i) => ({ data: i })));
    }
    // Spoil every record: an open that replayed any of them would refuse.
    for (const segment of segmentFiles(dir)) {
      const bytes = readFileSync(segment);
      bytes.fill(0x5a, 64, 96);
      writeFileSync(segment, bytes);
    }
    const store = await FileStore.open(dir);
    assert.equal(store.report.jobs, 100);
    await store.close();
  });

  void test('a drained queue gives its disk space back; compaction moves the few live jobs out of old segments', async () => {
    const dir = freshDir();
    const store = await FileStore.open(dir, { segmentBytes: 16 << 10, durability: 'none' });
    const spool = await Spool.create(store);
    const q = spool.queue<{ i: number; pad: string }>('q', { keepCompleted: false });
    for (let from = 0; from < 2000; from += 20)
      await q.addBulk(Array.from({ length: 20 }, (_, k) => ({ data: { i: from + k, pad: 'x'.repeat(200) } })));
    const grown = segmentFiles(dir).length;
    assert.ok(grown > 20, `${grown} segments`);
    // Keep one job in ten: every old segment is mostly dead.
    const all = [...(await q.lease({ max: 1000 })), ...(await q.lease({ max: 1000 }))];
    for (const job of all) {
      if (job.data.i % 10 === 0) await job.release();
      else await job.ack();
    }
    assert.equal((await q.counts()).waiting, 200);
    await store.checkpoint();
    await store.checkpoint();
    await store.checkpoint();
    const compacted = segmentFiles(dir).length;
    assert.ok(compacted <= grown / 3, `${compacted} of ${grown} segments left`);
    await spool.close();
    {
      await using reopened = await open(`file:${dir}`);
      const rq = reopened.queue<{ i: number }>('q', { keepCompleted: false });
      const kept = await rq.peek(1000);
      assert.deepEqual(
        kept.map((j) => j.data.i),
        Array.from({ length: 200 }, (_, k) => k * 10),
      );
      for (const job of await rq.lease({ max: 1000 })) await job.ack();
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    {
      await using reopened = await open(`file:${dir}`);
      assert.equal((await reopened.queue('q').counts()).waiting, 0);
    }
    assert.ok(segmentFiles(dir).length <= 2, `${segmentFiles(dir).length} segments after draining`);
  });

  void test('a second open of the same directory fails with LockedError until the first closes', async () => {
    const dir = freshDir();
    const first = await open(`file:${dir}`);
    await assert.rejects(open(`file:${dir}`), LockedError);
    await first.close();
    const second = await open(`file:${dir}`);
    await second.close();
  });

  void test('a lock held by another live process refuses the open; a stale one from a dead pid is taken over', async () => {
    const dir = freshDir();
    mkdirSync(dir, { recursive: true });
    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)']);
    try {
      writeFileSync(join(dir, 'LOCK'), String(holder.pid));
      await assert.rejects(open(`file:${dir}`), (e: unknown) => e instanceof LockedError && e.ownerPid === holder.pid);
    } finally {
      holder.kill('SIGKILL');
      await new Promise((resolve) => holder.once('exit', resolve));
    }
    // The holder is gone: its pid in LOCK is stale now.
    await using spool = await open(`file:${dir}`);
    await spool.queue('q').add('taken over');
    const owner = JSON.parse(readFileSync(join(dir, 'LOCK'), 'utf8')) as { v: number; pid: number };
    assert.deepEqual([owner.v, owner.pid], [1, process.pid]);
  });

  void test('a lock naming a live pid with another start time is a reused pid: taken over', async () => {
    const dir = freshDir();
    mkdirSync(dir, { recursive: true });
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)']);
    try {
      await new Promise((resolve) => other.once('spawn', resolve));
      const stat = readFileSync(`/proc/${other.pid}/stat`, 'utf8');
      const started = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
      // The live process's own start time: the lock is its, and holds.
      writeFileSync(join(dir, 'LOCK'), `${other.pid} ${started}`);
      await assert.rejects(open(`file:${dir}`), LockedError);
      // Same pid, an earlier start: the owner died and the pid was handed to someone else.
      writeFileSync(join(dir, 'LOCK'), `${other.pid} 1`);
      await using spool = await open(`file:${dir}`);
      await spool.queue('q').add('taken over');
    } finally {
      other.kill('SIGKILL');
    }
  });

  void test('kill -9 at random moments, 100 times: every resolved add is there, no resolved ack is undone, open always succeeds', async () => {
    const dir = freshDir();
    await killLoop(`file:${dir}`, () => FileStore.open(dir));
  });
});
