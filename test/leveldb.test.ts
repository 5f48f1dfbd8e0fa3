import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ClassicLevel } from 'classic-level';
import { LockedError, open, StorageError, ValidationError } from '../src/index.ts';
import { LevelStore } from '../src/store/leveldb/index.ts';
import { killLoop } from './support/kill-loop.ts';
import { newJob } from './support/workload.ts';

const root = mkdtempSync(join(tmpdir(), 'spool-leveldb-'));
let n = 0;
const freshDir = (): string => join(root, String(++n));
after(() => rmSync(root, { recursive: true, force: true }));

void describe('leveldb store', () => {
  void test('leveldb: URLs: fsync by default, none on request, a misspelt parameter refused', async () => {
    const dir = freshDir();
    {
      await using spool = await open(`leveldb:${dir}`);
      assert.equal(spool.capabilities.durable, 'power-loss');
      assert.equal(spool.capabilities.events, 'process');
    }
    {
      await using spool = await open(`leveldb:${dir}?durability=none`);
      assert.equal(spool.capabilities.durable, 'process-crash');
    }
    await assert.rejects(open(`leveldb:${dir}?durabilty=none`), ValidationError);
  });

  // LevelDB's own lock is fcntl's, which a process drops when it closes any descriptor of the
  // LOCK file: a refused second open in the holder's process used to free the directory for
  // another process. The other process's open comes after that refusal here on purpose.
  void test('a second open of a directory, in this process or another, is a LockedError naming the holder', async () => {
    const dir = freshDir();
    await using _holder = await open(`leveldb:${dir}`);
    await assert.rejects(open(`leveldb:${dir}`), (error: unknown) => {
      assert.ok(error instanceof LockedError);
      assert.equal(error.ownerPid, process.pid);
      return true;
    });
    // The same directory through a symlink: two handles would hand out the same ids.
    const link = `${dir}-link`;
    symlinkSync(dir, link);
    await assert.rejects(open(`leveldb:${link}`), LockedError);
    const other = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '-e',
        `import('./src/index.ts').then((m) => m.open('leveldb:${dir}')).catch((e) => { console.log(e.code); })`,
      ],
      { cwd: join(import.meta.dirname, '..'), stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    other.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    await new Promise((resolve) => other.once('exit', resolve));
    assert.equal(out.trim(), 'LOCKED');
  });

  // LevelDB's LOCK is an empty file, which the file store took for a dead owner's and replaced:
  // `file:` opened beside a running LevelDB store and freed its directory for a second LevelDB.
  void test("file: on a LevelDB store's directory is refused before its lock is touched, and leveldb: on a file store's", async () => {
    const dir = freshDir();
    await using holder = await open(`leveldb:${dir}`);
    await holder.queue('q').add('in leveldb');
    await assert.rejects(
      open(`file:${dir}`),
      (error: unknown) => error instanceof StorageError && error.message.includes(`open it as leveldb:${dir}`),
    );
    assert.deepEqual(
      readdirSync(dir).filter((name) => name.endsWith('.seg')),
      [],
    );
    const other = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '-e',
        `import('./src/index.ts').then((m) => m.open('leveldb:${dir}')).then(() => console.log('OPENED'), (e) => console.log(e.code))`,
      ],
      { cwd: join(import.meta.dirname, '..'), stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    other.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    await new Promise((resolve) => other.once('exit', resolve));
    assert.equal(out.trim(), 'LOCKED');

    const files = freshDir();
    {
      await using spool = await open(`file:${files}`);
      await spool.queue('q').add('in the file store');
    }
    await assert.rejects(
      open(`leveldb:${files}`),
      (error: unknown) => error instanceof StorageError && error.message.includes(`open it as file:${files}`),
    );
    assert.ok(!readdirSync(files).includes('CURRENT'), 'LevelDB made no database there');
    await using spool = await open(`file:${files}`);
    assert.equal((await spool.queue('q').counts()).waiting, 1);
  });

  void test("a directory LevelDB cannot open is a StorageError that says LevelDB's reason, not only 'Database failed to open'", async () => {
    const dir = freshDir();
    {
      await using s = await open(`leveldb:${dir}`);
      await s.queue('q').add('kept');
    }
    // The manifest CURRENT names is gone (a half-copied directory, say).
    writeFileSync(join(dir, 'CURRENT'), 'MANIFEST-000099\n');
    await assert.rejects(
      open(`leveldb:${dir}`),
      (error: unknown) =>
        error instanceof StorageError &&
        error.message.includes(dir) &&
        error.message.includes('MANIFEST-000099: No such file or directory'),
    );
  });

  void test('a reopen keeps every job in its state and counts; waiting keys come back FIFO within a priority', async () => {
    const dir = freshDir();
    {
      await using spool = await open(`leveldb:${dir}`);
      const q = spool.queue<string>('q');
      for (const data of ['a', 'b', 'c']) await q.add(data);
      await q.add('urgent', { priority: 5 });
      for (const data of ['d', 'e']) await q.add(data);
      const [first] = await q.lease();
      assert.equal(first!.data, 'urgent');
      await first!.ack();
      await (await q.lease())[0]!.fail(new Error('for good'));
    }
    // The waiting keys in key order: FIFO, as diskoque's users rely on.
    const db = new ClassicLevel<string, string>(dir, { keyEncoding: 'utf8', valueEncoding: 'utf8' });
    const waiting = [];
    for await (const key of db.keys({ gte: 'w', lt: 'x' })) waiting.push(key);
    await db.close();
    assert.equal(waiting.length, 4); // b c d e; a is dead
    {
      await using spool = await open(`leveldb:${dir}`);
      const q = spool.queue<string>('q');
      const counts = await q.counts();
      assert.deepEqual([counts.waiting, counts.active, counts.dead, counts.completed], [4, 0, 1, 1]);
      assert.deepEqual(
        (await q.lease({ max: 10 })).map((j) => j.data),
        ['b', 'c', 'd', 'e'],
      );
    }
  });

  void test('kill -9 at random moments, 100 times: every resolved add is there, no resolved ack is undone, open always succeeds', async () => {
    const dir = freshDir();
    await killLoop(`leveldb:${dir}`, () => LevelStore.open(dir));
  });
});

void test("leveldb: a call with a caller's transaction (tx) is refused: the store has none to join", async () => {
  const store = await LevelStore.open(freshDir());
  try {
    assert.equal(store.capabilities.transactions, false);
    await assert.rejects(store.add({ now: 1, jobs: [newJob('q', Buffer.from('x'))], tx: {} }), ValidationError);
    assert.equal((await store.counts({ queues: ['q'], now: 2 }))[0]!.waiting, 0);
  } finally {
    await store.close();
  }
});

void test('leveldb: every job comes back from a reopen field for field: waiting, delayed, active, dead and completed, with TTLs, keys and results', async () => {
  const dir = freshDir();
  let before: unknown;
  let ids: string[];
  {
    const store = await LevelStore.open(dir);
    const at = 1_000_000;
    const job = (data: string, change: Partial<ReturnType<typeof newJob>> = {}) => ({
      ...newJob('q', Buffer.from(data)),
      ...change,
    });
    const added = await store.add({
      now: at,
      jobs: [
        job('plain'),
        job('later', { availableAt: at + 60_000 }),
        job('ttl', { expiresAt: at + 3_600_000, key: 'k1', priority: 3 }),
        job('leased'),
        job('dies', { maxAttempts: 1 }),
        job('done'),
      ],
    });
    assert.ok(added.ok);
    ids = [...added.ids];
    const { jobs } = await store.lease({ now: at + 1, queues: ['q'], max: 5, visibilityMs: 600_000 });
    const byData = (d: string) => jobs.find((j) => Buffer.from(j.payload).toString() === d)!;
    await store.nack({
      now: at + 2,
      token: byData('dies').token,
      delayMs: 0,
      error: 'boom',
      dead: false,
      release: false,
    });
    await store.ack({ now: at + 3, items: [{ token: byData('done').token, result: Buffer.from('ok') }] });
    await store.configure({ now: at + 4, queue: 'q', changes: { maxLength: 50 } });
    before = await store.get({ ids, now: at + 5 });
    await store.close();
  }
  const store = await LevelStore.open(dir);
  try {
    assert.deepEqual(await store.get({ ids, now: 1_000_005 }), before);
    assert.equal((await store.settings({ queues: ['q'], now: 1_000_005 }))[0]!.maxLength, 50);
    assert.deepEqual(await store.queues({ now: 1_000_005 }), ['q']);
  } finally {
    await store.close();
  }
});
