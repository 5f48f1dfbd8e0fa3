import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { LockedError, open, StorageError } from '../src/index.ts';
import { FileStore } from '../src/store/file/file-store.ts';
import { runConformance } from './conformance/index.ts';

const root = mkdtempSync(join(tmpdir(), 'spool-file-'));
let n = 0;
const freshDir = (): string => join(root, String(++n));
after(() => rmSync(root, { recursive: true, force: true }));

void describe('file store: conformance', () => {
  runConformance({ makeStore: () => FileStore.open(freshDir(), { durability: 'none' }) });
});

void describe('file store: durability', () => {
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

  void test('meta documents survive a reopen', async () => {
    const dir = freshDir();
    const first = await FileStore.open(dir);
    await first.setMeta({ 'topic/t': '{"subscribers":["a"]}', gone: 'x' });
    await first.setMeta({ gone: null });
    await first.close();
    const second = await FileStore.open(dir);
    assert.deepEqual(await second.listMeta(''), ['topic/t']);
    assert.deepEqual(await second.getMeta(['topic/t']), ['{"subscribers":["a"]}']);
    await second.close();
  });

  void test('a torn tail is cut off at open and the intact records stay', async () => {
    const dir = freshDir();
    {
      await using spool = await open(`file:${dir}`);
      await spool.queue('q').add('kept');
    }
    appendFileSync(join(dir, 'spool.log'), Buffer.from([42, 0, 0, 0, 1, 2, 3]));
    {
      await using spool = await open(`file:${dir}`);
      assert.equal((await spool.queue('q').counts()).waiting, 1);
      await spool.queue('q').add('after');
    }
    await using spool = await open(`file:${dir}`);
    assert.equal((await spool.queue('q').counts()).waiting, 2);
  });

  void test('a flipped bit before the tail stops the open naming file and offset; repair keeps every intact record', async () => {
    const dir = freshDir();
    {
      await using spool = await open(`file:${dir}`);
      const q = spool.queue('q');
      for (const data of ['one', 'two', 'three']) await q.add(data);
    }
    const log = join(dir, 'spool.log');
    const bytes = readFileSync(log);
    bytes[20] = (bytes[20] as number) ^ 0x01; // inside the first record's body
    writeFileSync(log, bytes);
    await assert.rejects(
      open(`file:${dir}`),
      (e: unknown) => e instanceof StorageError && e.message.includes(`${log}: damaged record at offset 0`),
    );
    {
      await using spool = await open(`file:${dir}?repair=1`);
      const jobs = await spool.queue('q').peek(10);
      assert.deepEqual(
        jobs.map((j) => [j.id, j.data]),
        [
          ['2', 'two'],
          ['3', 'three'],
        ],
      );
    }
    await using spool = await open(`file:${dir}`);
    assert.equal((await spool.queue('q').counts()).waiting, 2);
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
    assert.equal(readFileSync(join(dir, 'LOCK'), 'utf8'), String(process.pid));
  });

  void test('kill -9 at random moments, 100 times: every resolved add is there, no resolved ack is undone, open always succeeds', async () => {
    const dir = freshDir();
    const added = new Set<string>();
    const acked = new Set<string>();
    const fixture = join(import.meta.dirname, 'fixtures', 'file-writer.ts');
    for (let round = 0; round < 100; round++) {
      const killAfter = 1 + Math.floor(Math.random() * 60);
      const child = spawn(process.execPath, ['--import', 'tsx', fixture, dir], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let lines = 0;
      let buffer = '';
      child.stdout.on('data', (chunk: Buffer) => {
        buffer += chunk.toString();
        const complete = buffer.split('\n');
        buffer = complete.pop() ?? '';
        for (const line of complete) {
          const [kind, id] = line.split(' ');
          if (kind === 'added') added.add(id!);
          if (kind === 'acked') acked.add(id!);
          // Killed after a random number of answers, or at a random moment once it is writing.
          if (++lines === 1) setTimeout(() => child.kill('SIGKILL'), Math.random() * 100);
          if (lines === killAfter) child.kill('SIGKILL');
        }
      });
      await new Promise((resolve) => child.once('exit', resolve));
      const store = await FileStore.open(dir);
      try {
        const records = await store.get([...added], Date.now());
        [...added].forEach((id, i) => {
          const job = records[i] ?? null;
          if (acked.has(id))
            assert.ok(
              job === null || job.state === 'completed',
              `round ${round}: acked job ${id} came back as ${job?.state}`,
            );
          else assert.ok(job !== null, `round ${round}: added job ${id} was lost`);
        });
      } finally {
        await store.close();
      }
    }
    assert.ok(added.size > 100);
    assert.ok(acked.size > 0);
  });
});
