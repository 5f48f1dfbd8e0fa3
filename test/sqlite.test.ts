import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import Libsql from 'libsql';
import { open, Spool, StorageError, ValidationError } from '../src/index.ts';
import { SqliteStore } from '../src/store/sqlite/index.ts';
import { defaultQueueSettings } from '../src/store/contract.ts';
import type { StoreEvent } from '../src/store/contract.ts';
import { settingsText } from '../src/store/rows/settings-text.ts';
import { migrations } from '../src/store/sqlite/schema.ts';
import { killLoop } from './support/kill-loop.ts';
import { newJob } from './support/workload.ts';
import { readOnly } from './support/read-only.ts';
import { until } from '../src/conformance/harness.ts';

const root = mkdtempSync(join(tmpdir(), 'spool-sqlite-'));
let n = 0;
const freshFile = (): string => join(root, `${++n}.db`);

/**
 * A child process (`fixture` under test/fixtures, given the store's URL and the arguments
 * `setUp` makes) on a new SQLite file, once it says `ready` and has had 300 ms to block or look:
 * stopped (SIGSTOP) while `meanwhile` runs and the events table is emptied, as the prune of rows
 * older than a minute would, then let go on. Its output, and when it went on; killed, and the
 * store closed, after the test file.
 */
async function stoppedWhilePruned(
  fixture: string,
  setUp: (spool: Spool) => Promise<string[]>,
  meanwhile: (spool: Spool) => Promise<void>,
): Promise<{ out: () => string; resumed: number }> {
  const file = freshFile();
  const spool = await open(`sqlite:${file}`);
  const path = join(import.meta.dirname, 'fixtures', fixture);
  const child = spawn(process.execPath, ['--import', 'tsx', path, `sqlite:${file}`, ...(await setUp(spool))], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  after(async () => {
    child.kill('SIGKILL');
    await spool.close();
  });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  await until(() => out.includes('ready'), "the child's start");
  await new Promise((resolve) => setTimeout(resolve, 300));
  child.kill('SIGSTOP');
  await meanwhile(spool);
  const db = new Database(file);
  db.exec('DELETE FROM spool_events');
  db.close();
  const resumed = Date.now();
  child.kill('SIGCONT');
  return { out: () => out, resumed };
}
after(() => rmSync(root, { recursive: true, force: true }));

/** This process's open descriptors on `file` (and its -wal and -shm), as /proc lists them. */
function descriptorsOn(file: string): string[] {
  return readdirSync('/proc/self/fd')
    .map((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`);
      } catch {
        return '';
      }
    })
    .filter((target) => target.startsWith(file));
}

void describe('sqlite store', () => {
  void test('sqlite: URLs: synchronous full by default, normal on request, a misspelt parameter refused', async () => {
    const file = freshFile();
    {
      await using spool = await open(`sqlite:${file}`);
      assert.equal(spool.capabilities.durable, 'power-loss');
      assert.equal(spool.capabilities.events, 'shared');
    }
    {
      await using spool = await open(`sqlite:${file}?synchronous=normal`);
      assert.equal(spool.capabilities.durable, 'process-crash');
    }
    await assert.rejects(open(`sqlite:${file}?synchronus=normal`), ValidationError);
    await assert.rejects(open(`sqlite:${file}?synchronous=off`), ValidationError);
    // The drivers take whole milliseconds up to 2^31 - 1: before, this was a StorageError of the
    // open. (A fraction, 1.5ms, is a whole 2 ms by then: every duration is read so.)
    for (const scheme of ['sqlite', 'libsql']) {
      await assert.rejects(open(`${scheme}:${file}?busyTimeout=30d`), {
        name: 'ValidationError',
        field: 'busyTimeout',
      });
      await using rounded = await open(`${scheme}:${file}?busyTimeout=1.5ms`);
      assert.equal((await rounded.health()).ok, true);
    }
  });

  // It declared a file's capabilities: power-loss durability, events shared with other
  // processes, and a tx it joined through the caller's own ':memory:', another database.
  for (const scheme of ['sqlite', 'libsql'])
    void test(`${scheme}::memory: declares what it is: durable none, events of this process, no caller's transaction`, async () => {
      await using spool = await open(`${scheme}::memory:`);
      assert.deepEqual(
        [spool.capabilities.durable, spool.capabilities.events, spool.capabilities.transactions],
        ['none', 'process', false],
      );
      const q = spool.queue<string>('q');
      const caller = new Database(':memory:');
      try {
        let added: Promise<unknown> = Promise.resolve();
        caller.transaction(() => {
          added = q.add('in the caller', { tx: caller });
        })();
        await assert.rejects(added, { name: 'ValidationError', field: 'tx' });
      } finally {
        caller.close();
      }
      await q.add('kept');
      assert.deepEqual(
        (await q.lease({ max: 5 })).map((j) => j.data),
        ['kept'],
      );
    });

  for (const scheme of ['sqlite', 'libsql'])
    void test(`${scheme}: a store that commits often checkpoints its WAL on a thread of its own`, async () => {
      const file = freshFile();
      await using spool = await open(`${scheme}:${file}?synchronous=normal`);
      const q = spool.queue<string>('q');
      const before = statSync(file).size;
      // 110 commits of one job: ~700 WAL pages, fewer than SQLite's own checkpoint waits for
      // (1,000), so the file grows while the store is open only if another connection checkpoints.
      for (let i = 0; i < 110; i++) await q.add('x'.repeat(200));
      await until(() => statSync(file).size > before, 'a checkpoint into the database file');
      assert.equal((await q.counts()).waiting, 110);
    });

  void test('a reopened file keeps every job in its state, in WAL mode at the newest schema version', async () => {
    const file = freshFile();
    {
      await using spool = await open(`sqlite:${file}`);
      const q = spool.queue<number>('q');
      await q.addBulk(Array.from({ length: 5 }, (_, i) => ({ data: i })));
      const [first] = await q.lease();
      await first!.ack();
    }
    {
      await using spool = await open(`sqlite:${file}`);
      const counts = await spool.queue('q').counts();
      assert.equal(counts.waiting, 4);
      assert.deepEqual(
        (await spool.queue<number>('q').lease({ max: 10 })).map((j) => j.data),
        [1, 2, 3, 4],
      );
    }
    const db = new Database(file, { readonly: true });
    try {
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
      assert.equal(db.pragma('user_version', { simple: true }), migrations().at(-1)?.version);
    } finally {
      db.close();
    }
  });

  // SQLite's messages name no file: a server on several stores logged 'a call failed: database
  // disk image is malformed', and nothing said which.
  void test("a damaged file's failures name it: a call's, and the commit's that fails the store", async () => {
    const file = freshFile();
    {
      await using spool = await open(`sqlite:${file}`);
      for (let i = 0; i < 20; i++)
        await spool.queue<string>('q').addBulk(Array.from({ length: 100 }, () => ({ data: 'x'.repeat(300) })));
    }
    // Two pages in the middle of the jobs' table overwritten (a bad sector, a stray write).
    const middle = Math.floor(statSync(file).size / 2 / 4096) * 4096;
    const fd = openSync(file, 'r+');
    writeSync(fd, Buffer.alloc(8192, 0xab), 0, 8192, middle);
    closeSync(fd);
    await using spool = await open(`sqlite:${file}`);
    const q = spool.queue<string>('q');
    const failures: unknown[] = [];
    for (let i = 0; i < 3; i++) failures.push(await q.lease({ max: 1000 }).catch((error: unknown) => error));
    failures.push(await q.add('y').catch((error: unknown) => error));
    for (const error of failures) {
      assert.ok(error instanceof StorageError, String(error));
      assert.ok(error.message.startsWith(`${file}: `), error.message);
      assert.match(error.message, /malformed/);
    }
  });

  // SQLite said only "unable to open database file", whatever was wrong with the path.
  for (const scheme of ['sqlite', 'libsql'])
    void test(`${scheme}: a path that is a directory, or under a regular file, is a StorageError saying so`, async () => {
      const dir = `${freshFile()}.d`;
      mkdirSync(dir);
      const file = freshFile();
      writeFileSync(file, '');
      for (const [path, says] of [
        [dir, 'it is a directory, not a file'],
        [join(file, 'q.db'), `${file} is a file, not a directory`],
      ] as const) {
        await assert.rejects(
          open(`${scheme}:${path}`),
          (error: unknown) =>
            error instanceof StorageError &&
            error.message.startsWith(`${path}: cannot open the SQLite database: ${says} (`),
          path,
        );
      }
    });

  // SQLite said "unable to open database file" for a read-only directory, and "attempt to write a
  // readonly database" for a read-only file, neither naming what could not be written.
  for (const scheme of ['sqlite', 'libsql'])
    void test(`${scheme}: a database or directory that cannot be written is a StorageError naming it`, async () => {
      const dir = `${freshFile()}.ro`;
      const roDir = join(dir, 'ro');
      const roFile = join(dir, 'rw', 'q.db');
      mkdirSync(roDir, { recursive: true });
      mkdirSync(dirname(roFile));
      for (const file of [join(roDir, 'kept.db'), roFile]) {
        await using spool = await open(`${scheme}:${file}`);
        await spool.queue('q').add('kept');
      }
      const undo = readOnly([roDir, roFile]);
      try {
        for (const [path, says] of [
          [join(roDir, 'new.db'), `it cannot be made: ${roDir} cannot be written`],
          [join(roDir, 'kept.db'), `its directory ${roDir} cannot be written`],
          [roFile, 'it cannot be written'],
        ] as const) {
          // A store opened by mistake is closed, or it would keep the test process alive.
          const opened = open(`${scheme}:${path}`).then((spool) => spool.close());
          await assert.rejects(
            opened,
            (error: unknown) =>
              error instanceof StorageError &&
              error.message.startsWith(`${path}: cannot open the SQLite database: ${says} (`),
            path,
          );
        }
      } finally {
        undo();
      }
    });

  void test('a file of a newer schema version is refused, not changed, and left with no descriptor open on it', () => {
    const file = freshFile();
    const db = new Database(file);
    db.pragma('user_version = 999');
    db.close();
    assert.throws(() => SqliteStore.open(file), StorageError);
    assert.deepEqual(descriptorsOn(file), []);
  });

  void test('two processes on one file: a lease blocked in one wakes within milliseconds of an add in the other', async (t) => {
    const file = freshFile();
    await using spool = await open(`sqlite:${file}`);
    const fixture = join(import.meta.dirname, 'fixtures', 'blocked-leaser.ts');
    const latencies: number[] = [];
    for (let i = 0; i < 3; i++) {
      const child = spawn(process.execPath, ['--import', 'tsx', fixture, `sqlite:${file}`], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const lines = (async function* () {
        let buffer = '';
        for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
          buffer += chunk.toString();
          const complete = buffer.split('\n');
          buffer = complete.pop() ?? '';
          yield* complete;
        }
      })();
      assert.equal((await lines.next()).value, 'ready');
      // Let the child's lease find nothing and block.
      await new Promise((resolve) => setTimeout(resolve, 300));
      const sent = Date.now();
      await spool.queue('wake').add(`job ${i}`);
      const [word, at, count] = ((await lines.next()).value as string).split(' ');
      assert.equal(word, 'leased');
      assert.equal(count, '1');
      latencies.push(Number(at) - sent);
      await new Promise((resolve) => child.once('exit', resolve));
    }
    // Far below the 20 s the lease would otherwise wait; typically a few ms (the 2 ms look).
    assert.ok(Math.max(...latencies) < 2000, `wake latencies ${latencies.join(', ')} ms`);
    const counts = await spool.queue('wake').counts();
    assert.deepEqual([counts.waiting, counts.completed], [0, 3]);
    t.diagnostic(`wake latencies: ${latencies.join(', ')} ms`);
  });

  for (const [scheme, Driver] of [
    ['sqlite', Database],
    ['libsql', Libsql],
  ] as const)
    void test(`${scheme}: a call that waited busyTimeout for another connection's transaction fails alone; the store goes on`, async () => {
      const file = freshFile();
      await using spool = await open(`${scheme}:${file}?busyTimeout=100ms`);
      const q = spool.queue<string>('q');
      await q.add('before');
      // Another process's long transaction (a big purge, a backup, the caller's own `tx`).
      const other = new Driver(file, { timeout: 5000 });
      try {
        other.exec('BEGIN IMMEDIATE');
        const refused = await q.add('while held').then(
          () => assert.fail('the add went through while another connection held the write lock'),
          (error: unknown) => error,
        );
        assert.ok(refused instanceof StorageError);
        assert.match(refused.message, /write lock past busyTimeout \(100ms\); nothing of this call was done/);
        other.exec('COMMIT');
      } finally {
        other.close();
      }
      // Before: every later call failed with 'cannot start a transaction: database is locked'.
      await q.add('after');
      assert.deepEqual(await spool.health(), { ok: true });
      assert.deepEqual(
        (await q.lease({ max: 10 })).map((j) => j.data),
        ['before', 'after'],
      );
    });

  // Events older than a minute are pruned: a process stopped longer (SIGSTOP, a paused
  // container) lost the events of what happened meanwhile: its blocked lease slept on beside a
  // job added then, its waitFor past its job's end.
  void test('a process stopped while the events it had not read were pruned wakes its blocked lease when it goes on', async () => {
    const { out, resumed } = await stoppedWhilePruned(
      'blocked-leaser.ts',
      () => Promise.resolve(['late']),
      async (spool) => void (await spool.queue('late').add('while it was stopped')),
    );
    await until(() => out().includes('leased'), 'the lease of the job added while the child was stopped');
    const at = Number(/leased (\d+) 1/.exec(out())?.[1]);
    // Before: at the end of its 20 s wait.
    assert.ok(at - resumed < 5000, `leased ${at - resumed} ms after it went on`);
  });

  void test('a process stopped while the end it waited for was pruned unread reads the job again when it goes on', async () => {
    const { out, resumed } = await stoppedWhilePruned(
      'waiting-for.ts',
      async (spool) => ['ended-late', await spool.queue('ended-late').add('x')],
      async (spool) => {
        const [job] = await spool.queue('ended-late').lease();
        await job!.ack('done');
      },
    );
    await until(() => /done|failed/.test(out()), "the end of the child's wait");
    const [, at, result] = /done (\d+) (.*)/.exec(out()) ?? [];
    assert.equal(result, '"done"', out());
    // Before: its 20 s timeout.
    assert.ok(Number(at) - resumed < 5000, `done ${Number(at) - resumed} ms after it went on`);
  });

  void test("one commit's events are one spool_events row, and another store on the file hears each of them, results whole", async () => {
    const file = freshFile();
    const store = SqliteStore.open(file);
    const peer = SqliteStore.open(file);
    const heard: StoreEvent[] = [];
    const unwatch = await peer.watch((event) => heard.push(event));
    const rowsOf = (): number => {
      const db = new Database(file, { readonly: true });
      try {
        return (db.prepare('SELECT count(*) AS n FROM spool_events').get() as { n: number }).n;
      } finally {
        db.close();
      }
    };
    try {
      // Kept none: an ended event carries the job's result then (contract.ts).
      await store.configure({ now: 0, queue: 'q', changes: { keepCompleted: { count: 0, ageMs: 0 } } });
      await store.add({ now: 1, jobs: ['a', 'b', 'c'].map((d) => newJob('q', Buffer.from(d))) });
      const { jobs } = await store.lease({ now: 2, queues: ['q'], max: 3, visibilityMs: null });
      // Ends reach other stores only of watched jobs (004-watches.sql).
      for (const job of jobs) await peer.watchEnd({ now: 2, id: job.id });
      const before = rowsOf();
      // Three acks in one call, one with a result of bytes JSON cannot carry as text, one with none.
      const results = [Uint8Array.of(0, 255, 10), null, Buffer.from('done')];
      await store.ack({ now: 3, items: jobs.map((job, i) => ({ token: job.token, result: results[i] ?? null })) });
      assert.equal(rowsOf(), before + 1, 'one row for the three ended events');
      await until(() => heard.filter((e) => e.kind === 'ended').length === 3, 'the three ended events in the peer');
      const ended = heard.filter((e) => e.kind === 'ended');
      assert.deepEqual(
        ended.map((e) => [e.id, e.end, e.result === null ? null : Buffer.from(e.result!).toString('hex')]),
        jobs.map((job, i) => [job.id, 'completed', results[i] ? Buffer.from(results[i]).toString('hex') : null]),
      );
      assert.deepEqual(
        heard.filter((e) => e.kind === 'ready').map((e) => e.queue),
        ['q'],
        'the add told of a ready queue once',
      );
    } finally {
      await unwatch();
      await peer.close();
      await store.close();
    }
  });

  void test('a commit tells other stores of the end of a watched job only, and deletes its watch', async () => {
    const file = freshFile();
    const store = SqliteStore.open(file);
    const peer = SqliteStore.open(file);
    const heard: StoreEvent[] = [];
    const unwatch = await peer.watch((event) => heard.push(event));
    const db = new Database(file, { readonly: true });
    const watches = (): number => (db.prepare('SELECT count(*) AS n FROM spool_watches').get() as { n: number }).n;
    const endedWritten = (): string[] =>
      (db.prepare('SELECT events FROM spool_events').all() as { events: string }[])
        .flatMap(({ events }) => JSON.parse(events) as unknown[][])
        .filter((e) => e[0] === 'ended')
        .map((e) => e[2] as string);
    try {
      await store.add({ now: 1, jobs: ['a', 'b', 'c', 'd'].map((d) => newJob('q', Buffer.from(d))) });
      const { jobs } = await store.lease({ now: 2, queues: ['q'], max: 4, visibilityMs: null });
      const watched = jobs[2]!.id;
      const stop = await peer.watchEnd({ now: 2, id: watched });
      assert.equal(watches(), 1);
      // No job by these ids: nothing to watch, and nothing written.
      await (
        await peer.watchEnd({ now: 2, id: '999999' })
      )();
      await (
        await peer.watchEnd({ now: 2, id: 'x' })
      )();
      assert.equal(watches(), 1);
      await store.ack({ now: 3, items: jobs.map((job) => ({ token: job.token, result: null })) });
      assert.deepEqual(endedWritten(), [watched], 'the one watched end, of four');
      assert.equal(watches(), 0, 'the commit that told of the end deleted its watch');
      await until(() => heard.some((e) => e.kind === 'ended'), 'the watched end in the peer');
      assert.deepEqual(
        heard.filter((e) => e.kind === 'ended').map((e) => e.id),
        [watched],
      );
      await stop();
      // A removal ends a job too: told while watched.
      const added = await store.add({ now: 4, jobs: [newJob('q', Buffer.from('e'))] });
      const e = added.ok ? added.ids[0] : undefined;
      await peer.watchEnd({ now: 4, id: e! });
      await store.remove({ now: 5, ids: [e!], states: null });
      assert.deepEqual(endedWritten(), [watched, e]);
    } finally {
      db.close();
      await unwatch();
      await peer.close();
      await store.close();
    }
  });

  void test('a waitFor through another handle on the file resolves at the ack, and leaves no watch behind', async () => {
    const file = freshFile();
    await using worker = await open(`sqlite:${file}`);
    await using waiter = await open(`sqlite:${file}`);
    const id = await worker.queue<number, number>('q').add(6);
    const result = waiter.queue<number, number>('q').waitFor(id, { timeout: 10_000 });
    // The watch is in before the job is worked: the waitFor has looked once by then.
    await until(() => {
      const db = new Database(file, { readonly: true });
      try {
        return (db.prepare('SELECT count(*) AS n FROM spool_watches').get() as { n: number }).n === 1;
      } finally {
        db.close();
      }
    }, 'the watch');
    const [job] = await worker.queue<number, number>('q').lease();
    await job!.ack(job!.data * 7);
    assert.equal(await result, 42);
    const db = new Database(file, { readonly: true });
    try {
      assert.equal((db.prepare('SELECT count(*) AS n FROM spool_watches').get() as { n: number }).n, 0);
    } finally {
      db.close();
    }
  });

  void test("a watch of a job that is gone (its watcher stopped, the end told through a caller's transaction) is swept", async () => {
    const file = freshFile();
    await SqliteStore.open(file).close();
    const db = new Database(file);
    try {
      db.prepare("INSERT INTO spool_watches (job, ticket) VALUES (12345, 'gone:1')").run();
      const store = SqliteStore.open(file);
      try {
        // A store's first commit sweeps, with the old events.
        await store.add({ now: 1, jobs: [newJob('q', Buffer.from('a'))] });
        assert.equal((db.prepare('SELECT count(*) AS n FROM spool_watches').get() as { n: number }).n, 0);
      } finally {
        await store.close();
      }
    } finally {
      db.close();
    }
  });

  void test("a lease taken over or a job removed by another store on the file fences this store's ack and extension", async () => {
    const file = freshFile();
    const store = SqliteStore.open(file);
    const peer = SqliteStore.open(file);
    try {
      await store.add({ now: 1, jobs: ['a', 'b'].map((d) => newJob('q', Buffer.from(d))) });
      const { jobs } = await store.lease({ now: 2, queues: ['q'], max: 2, visibilityMs: 10 });
      const [a, b] = jobs;
      // The peer reclaims a's lease once it ends and leases it again; it removes b outright.
      const retaken = await peer.lease({ now: 20, queues: ['q'], max: 1, visibilityMs: 1000 });
      assert.equal(retaken.jobs[0]?.id, a!.id);
      assert.deepEqual(await peer.remove({ now: 20, ids: [b!.id], states: null }), [b!.id]);
      assert.deepEqual(await store.extend({ now: 5, token: a!.token, ms: 100 }), { outcome: 'lost' });
      assert.deepEqual(await store.ack({ now: 5, items: [a!, b!].map((j) => ({ token: j.token, result: null })) }), [
        null,
        null,
      ]);
      const [now] = await store.get({ ids: [a!.id], now: 21 });
      assert.equal(now?.state, 'active', "the peer's lease stands");
      assert.equal(now?.attempts, 2);
    } finally {
      await peer.close();
      await store.close();
    }
  });

  void test('a file at schema version 1 opens at the newest version with its jobs, and tells other stores of its commits after', async () => {
    const file = freshFile();
    const v1 = migrations().find((m) => m.version === 1)!;
    const db = new Database(file);
    db.exec(v1.sql);
    db.pragma('user_version = 1');
    db.prepare(
      "INSERT INTO spool_jobs VALUES (7, 'q', 'waiting', 0, 0, 5, 0, 1, 1, NULL, NULL, NULL, 1000, 'fixed', 0, 0, 0, NULL, NULL, NULL, ?)",
    ).run(Buffer.from('kept'));
    db.prepare("INSERT INTO spool_events (origin, written_at, kind, queue) VALUES ('old', 1, 'ready', 'q')").run();
    db.close();
    const store = SqliteStore.open(file);
    const peer = SqliteStore.open(file);
    const heard: string[] = [];
    const unwatch = await peer.watch((event) => heard.push(event.kind));
    try {
      const [job] = await store.get({ ids: ['7'], now: 2 });
      assert.equal(Buffer.from(job!.payload).toString(), 'kept');
      await store.add({ now: 3, jobs: [newJob('q', Buffer.from('new'))] });
      await until(() => heard.includes('ready'), 'the ready event in the peer');
    } finally {
      await unwatch();
      await peer.close();
      await store.close();
    }
    const after = new Database(file, { readonly: true });
    try {
      assert.equal(after.pragma('user_version', { simple: true }), migrations().at(-1)?.version);
    } finally {
      after.close();
    }
  });

  void test('a file at schema version 2 with jobs in every state opens at the newest version, each job as it was, and keeps working', async () => {
    const file = freshFile();
    const db = new Database(file);
    for (const step of migrations().filter((m) => m.version <= 2)) db.exec(step.sql);
    db.pragma('user_version = 2');
    // seq, queue, state, priority, attempts, max_attempts, nacks, created_at, available_at, expires_at, until,
    // finish, visibility_ms, backoff_kind, backoff_delay_ms, backoff_max_ms, backoff_jitter, key, errors, result, payload
    const insert = db.prepare(`INSERT INTO spool_jobs VALUES (${'?, '.repeat(20)}?)`);
    const job = (seq: number, state: string, changes: Record<number, unknown>): void => {
      const row: unknown[] = [seq, 'q', state, 0, 0, 3, 0, 1, 1, null, null, null, 1000, 'fixed', 10, 10, 0];
      row.push(null, null, null, Buffer.from(`p${seq}`));
      for (const [at, value] of Object.entries(changes)) row[Number(at)] = value;
      insert.run(...row);
    };
    job(1, 'waiting', { 17: 'k1' });
    job(2, 'waiting', { 3: 5 });
    job(3, 'delayed', { 8: 2000, 9: 10_000 });
    job(4, 'active', { 4: 1, 10: 1500 });
    job(5, 'dead', { 4: 3, 6: 1, 10: 900, 11: 0, 18: '["boom"]' });
    job(6, 'completed', { 4: 1, 10: 950, 11: 1, 19: Buffer.from('r') });
    db.prepare("UPDATE spool_counters SET value = 6 WHERE name = 'seq'").run();
    db.prepare(`INSERT INTO spool_queues VALUES ('q', 1, 0, ?, ?, 950, 2, 1500, 2, 1, 1, 1, 1)`).run(
      -Infinity,
      settingsText(defaultQueueSettings),
    );
    db.close();

    const store = SqliteStore.open(file);
    try {
      const [counts] = await store.counts({ queues: ['q'], now: 1000 });
      assert.deepEqual(counts, { waiting: 2, delayed: 1, active: 1, dead: 1, completed: 1, expired: 0, paused: false });
      const jobs = await store.get({ ids: ['1', '2', '3', '4', '5', '6'], now: 1000 });
      assert.deepEqual(
        jobs.map((j) => [j?.state, Buffer.from(j!.payload).toString(), j?.attempts, j?.priority]),
        [
          ['waiting', 'p1', 0, 0],
          ['waiting', 'p2', 0, 5],
          ['delayed', 'p3', 0, 0],
          ['active', 'p4', 1, 0],
          ['dead', 'p5', 3, 0],
          ['completed', 'p6', 1, 0],
        ],
      );
      assert.equal(jobs[0]?.key, 'k1');
      assert.equal(jobs[2]?.expiresAt, 10_000);
      assert.equal(jobs[3]?.leaseUntil, 1500);
      assert.deepEqual([jobs[4]?.errors, jobs[4]?.nacks, jobs[4]?.finishedAt], [['boom'], 1, 900]);
      assert.equal(Buffer.from(jobs[5]!.result!).toString(), 'r');
      assert.deepEqual(jobs[0]?.backoff, { kind: 'fixed', delayMs: 10, maxDelayMs: 10, jitter: 0 });

      const leased = await store.lease({ now: 1000, queues: ['q'], max: 10, visibilityMs: 10_000 });
      assert.deepEqual(
        leased.jobs.map((j) => j.id),
        ['2', '1'],
      );
      assert.deepEqual(await store.ack({ now: 1001, items: [{ token: leased.jobs[0]!.token, result: null }] }), ['q']);
      const again = await store.add({ now: 1002, jobs: [{ ...newJob('q', Buffer.from('x')), key: 'k1' }] });
      assert.deepEqual(again, { ok: true, ids: ['1'], created: [false] });
      // The lease of job 4 ended at 1500: reclaimed, it is leased again with its second attempt.
      const reclaimed = await store.lease({ now: 1600, queues: ['q'], max: 1, visibilityMs: null });
      assert.deepEqual(
        reclaimed.jobs.map((j) => [j.id, j.attempts, j.errors]),
        [['4', 2, ['lease expired']]],
      );
      const due = await store.lease({ now: 2000, queues: ['q'], max: 1, visibilityMs: null });
      assert.deepEqual(
        due.jobs.map((j) => j.id),
        ['3'],
      );
      assert.equal(await store.retryDead({ queue: 'q', ids: ['5'], now: 2001 }), 1);
      const fresh = await store.add({ now: 2002, jobs: [newJob('q', Buffer.from('new'))] });
      assert.deepEqual(fresh.ok && fresh.ids, ['7']);
      const [after] = await store.counts({ queues: ['q'], now: 2003 });
      assert.deepEqual(after, { waiting: 2, delayed: 0, active: 3, dead: 0, completed: 2, expired: 0, paused: false });
    } finally {
      await store.close();
    }
    const reopened = new Database(file);
    try {
      assert.equal(reopened.pragma('user_version', { simple: true }), migrations().at(-1)?.version);
      // A lease's UPDATE runs in one pass: the CHECK on state builds no ephemeral table (version 2's IN did).
      const plan = reopened
        .prepare('EXPLAIN UPDATE spool_jobs SET state = ?, attempts = ?, until = ? WHERE seq = ?')
        .all('active', 1, 1, 1) as { opcode: string }[];
      assert.ok(!plan.some((op) => op.opcode === 'OpenEphemeral'));
      assert.throws(() => reopened.prepare("UPDATE spool_jobs SET state = 'lost' WHERE seq = 1").run(), /CHECK/);
    } finally {
      reopened.close();
    }
  });

  void test('kill -9 at random moments, 100 times: every resolved add is there, no resolved ack is undone, open always succeeds', async () => {
    const file = freshFile();
    await killLoop(`sqlite:${file}`, () => Promise.resolve(SqliteStore.open(file)));
  });
});

void describe('sqlite store: simulated power loss', () => {
  // A power cut between the write of a commit's WAL frames and their sync leaves any prefix of
  // them on disk, maybe with garbage after it, and no -shm file. Here the WAL is cut (or its
  // tail overwritten) at random points inside the last commit: the reopened copy must hold every
  // commit before it, and nothing of that commit but all of it or none.
  void test('a WAL cut or torn inside the last commit, 20 ways: every earlier answered add is there, the last is whole or absent', async () => {
    const file = freshFile();
    const store = SqliteStore.open(file, { synchronous: 'full' });
    const spool = await Spool.create(store);
    try {
      const q = spool.queue<number>('q');
      const before: string[] = [];
      for (let i = 0; i < 20; i++) before.push(await q.add(i));
      const answered = statSync(`${file}-wal`).size;
      const last = await q.addBulk(Array.from({ length: 50 }, (_, i) => ({ data: 100 + i })));
      const written = statSync(`${file}-wal`).size;
      assert.ok(written > answered, 'the last commit went to the WAL');
      const wal = readFileSync(`${file}-wal`);
      const main = readFileSync(file);
      for (let round = 0; round < 20; round++) {
        const cut = answered + Math.floor(Math.random() * (written - answered));
        const copy = join(root, `power-${round}.db`);
        writeFileSync(copy, main);
        const torn = Buffer.from(wal.subarray(0, written));
        // Half the rounds lose the tail; the others find garbage where it was not yet written.
        if (round % 2 === 0) writeFileSync(`${copy}-wal`, torn.subarray(0, cut));
        else writeFileSync(`${copy}-wal`, Buffer.concat([torn.subarray(0, cut), randomBytes(written - cut)]));
        const reopened = SqliteStore.open(copy);
        try {
          const found = await reopened.get({ ids: [...before, ...last], now: Date.now() });
          assert.ok(
            found.slice(0, before.length).every((job) => job?.state === 'waiting'),
            `round ${round}: an answered add was lost`,
          );
          const tail = found.slice(before.length).filter((job) => job !== null).length;
          assert.ok(
            tail === 0 || tail === last.length,
            `round ${round}: ${tail} of the last commit's ${last.length} jobs`,
          );
        } finally {
          await reopened.close();
        }
      }
    } finally {
      await spool.close();
    }
  });
});

void describe('libsql: (the same store on libSQL)', () => {
  void test('libsql: opens a local file that better-sqlite3 then reads as the same store; a remote URL is refused', async () => {
    const file = freshFile();
    {
      await using spool = await open(`libsql:${file}`);
      assert.equal(spool.capabilities.durable, 'power-loss');
      await spool.queue('q').add('through libsql');
    }
    {
      await using spool = await open(`sqlite:${file}`);
      const [job] = await spool.queue<string>('q').lease();
      assert.equal(job?.data, 'through libsql');
    }
    await assert.rejects(open('libsql://example.turso.io'), ValidationError);
  });

  // libSQL's close keeps the connection open while a statement of it lives (until the garbage
  // collector takes the store's), and an open connection keeps the WAL: its -wal and -shm files
  // stayed beside every closed libsql: store, where better-sqlite3's close deletes them.
  for (const scheme of ['sqlite', 'libsql'])
    void test(`${scheme}: a closed store leaves only its database file, in WAL mode with every job`, async () => {
      const dir = `${freshFile()}.dir`;
      mkdirSync(dir);
      const file = join(dir, 'q.db');
      {
        await using spool = await open(`${scheme}:${file}`);
        const queue = spool.queue<number>('q');
        // Past 100 commits, so the checkpoint thread's connection is open too.
        for (let i = 0; i < 120; i++) await queue.add(i);
        const leased = await queue.lease({ max: 5 });
        for (const job of leased.slice(0, 2)) await job.ack();
      }
      assert.deepEqual(readdirSync(dir), ['q.db']);
      const db = new Database(file, { readonly: true });
      try {
        assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
      } finally {
        db.close();
      }
      {
        await using spool = await open(`${scheme}:${file}`);
        const counts = await spool.queue('q').counts();
        assert.deepEqual([counts.waiting, counts.active], [115, 3]);
      }
      assert.deepEqual(readdirSync(dir), ['q.db']);
    });
});

void describe("sqlite store: the caller's transaction (tx)", () => {
  const job = (data: string) => newJob('orders', Buffer.from(data));

  void test("an add and an ack inside the caller's better-sqlite3 transaction commit with it, and watchers hear of them after", async () => {
    const file = freshFile();
    const store = SqliteStore.open(file);
    assert.equal(store.capabilities.transactions, true);
    const heard: string[] = [];
    const unwatch = await store.watch((event) => heard.push(event.kind));
    const db = new Database(file, { timeout: 5000 });
    try {
      db.exec('CREATE TABLE orders (id INTEGER PRIMARY KEY, item TEXT)');
      let ids: readonly string[] = [];
      db.transaction(() => {
        db.prepare('INSERT INTO orders (item) VALUES (?)').run('book');
        // The add runs before it returns, inside the transaction, as the caller's own statements do.
        void store.add({ now: 1, jobs: [job('ship the book')], tx: db }).then((r) => {
          if (r.ok) ids = r.ids;
        });
        assert.deepEqual(heard, [], 'nothing told before the commit');
      })();
      await until(() => heard.includes('ready'), 'the ready event after the commit');
      assert.equal(ids.length, 1);
      const [record] = await store.get({ ids, now: 2 });
      assert.equal(Buffer.from(record!.payload).toString(), 'ship the book');
      const { jobs } = await store.lease({ now: 3, queues: ['orders'], max: 1, visibilityMs: null });
      db.transaction(() => {
        db.prepare('UPDATE orders SET item = ? WHERE id = 1').run('shipped');
        void store.ack({ now: 4, items: [{ token: jobs[0]!.token, result: null }], tx: db });
      })();
      await until(() => heard.includes('ended'), 'the ended event after the commit');
      assert.equal((await store.get({ ids, now: 5 }))[0]?.state, 'completed');
    } finally {
      await unwatch();
      db.close();
      await store.close();
    }
  });

  void test('a rolled-back transaction leaves no job and tells no one; a handle outside a transaction or on another file is refused', async () => {
    const file = freshFile();
    const store = SqliteStore.open(file);
    const heard: string[] = [];
    const unwatch = await store.watch((event) => heard.push(event.kind));
    const db = new Database(file, { timeout: 5000 });
    const other = new Database(freshFile());
    try {
      let added: Promise<unknown> = Promise.resolve();
      assert.throws(() =>
        db.transaction(() => {
          added = store.add({ now: 1, jobs: [job('never')], tx: db });
          throw new Error('the caller changes its mind');
        })(),
      );
      await added;
      const [counts] = await store.counts({ queues: ['orders'], now: 2 });
      assert.equal(counts!.waiting, 0);
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.deepEqual(heard, []);
      await assert.rejects(store.add({ now: 3, jobs: [job('x')], tx: db }), ValidationError);
      let elsewhere: Promise<unknown> = Promise.resolve();
      other.transaction(() => {
        elsewhere = store.add({ now: 3, jobs: [job('x')], tx: other });
      })();
      await assert.rejects(elsewhere, ValidationError);
    } finally {
      await unwatch();
      db.close();
      other.close();
      await store.close();
    }
  });
});
