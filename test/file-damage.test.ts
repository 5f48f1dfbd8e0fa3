// Damage the file store can see (issue 20, defects 2 and 3): a changed payload is never handed
// out, a cut segment is refused whenever a checkpoint or a clean close recorded its end, and
// `spool check` finds each case and `--repair` leaves a directory that opens and reads cleanly.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { CorruptionError, open, Spool, StorageError } from '../src/index.ts';
import { FileStore } from '../src/store/file/file-store.ts';
import { nodeIO } from '../src/store/file/io.ts';
import type { FileIO } from '../src/store/file/io.ts';
import { segmentFiles, spoolCli as spool, tempDirs } from './support/file-dirs.ts';

const freshDir = tempDirs('spool-damage-');

interface Payment {
  n: number;
  amount: number;
}

/**
 * Adds payments 1–10 of 100 each (one add each, or two bulk adds of five), closes, and changes
 * one digit of payment 3's amount on disk.
 */
async function changedDigit(dir: string, bulk: boolean): Promise<string> {
  {
    await using spool = await open(`file:${dir}`);
    const q = spool.queue<Payment>('pay');
    const payments = Array.from({ length: 10 }, (_, i) => ({ n: i + 1, amount: 100 }));
    if (bulk)
      for (const half of [payments.slice(0, 5), payments.slice(5)]) await q.addBulk(half.map((data) => ({ data })));
    else for (const data of payments) await q.add(data);
  }
  const [segment] = segmentFiles(dir);
  const bytes = readFileSync(segment!);
  const at = bytes.indexOf('{"n":3,"amount":100}') + '{"n":3,"amount":'.length;
  assert.equal(bytes[at], '1'.charCodeAt(0));
  bytes[at] = '9'.charCodeAt(0);
  writeFileSync(segment!, bytes);
  return segment!;
}

void describe('a payload changed on disk', () => {
  // One checksum covers a record: a damaged bulk add takes all its jobs, none can be proven intact.
  for (const bulk of [false, true]) {
    const lost = bulk ? [1, 2, 3, 4, 5] : [3];
    void test(`${bulk ? 'in a bulk add: its jobs go' : 'in its own add: the job goes'} dead with CorruptionError, never handed out, and the next jobs flow`, async () => {
      const dir = freshDir();
      const segment = await changedDigit(dir, bulk);
      {
        await using spool = await open(`file:${dir}`);
        const q = spool.queue<Payment>('pay');
        const seen: Payment[] = [];
        for (let jobs = await q.lease({ max: 2 }); jobs.length > 0; jobs = await q.lease({ max: 2 })) {
          for (const job of jobs) {
            seen.push(job.data);
            await job.ack();
          }
        }
        assert.deepEqual(
          seen.map((p) => [p.n, p.amount]),
          Array.from({ length: 10 }, (_, i) => [i + 1, 100]).filter(([i]) => !lost.includes(i!)),
        );
        assert.equal((await q.counts()).dead, lost.length);
        // Reading the damaged payload any other way fails loudly, naming the file and offset.
        await assert.rejects(
          q.dead(),
          (e: unknown) => e instanceof CorruptionError && e.file === segment && e.offset > 0 && e.code === 'CORRUPT',
        );
      }
      // The job's death was logged: a reopen still has it dead, with the reason.
      await using spool = await open(`file:${dir}`);
      assert.equal((await spool.queue('pay').counts()).dead, lost.length);
    });
  }

  void test('damage that breaks the JSON does not block the queue with a SyntaxError', async () => {
    const dir = freshDir();
    {
      await using spool = await open(`file:${dir}`);
      const q = spool.queue<Payment>('pay');
      for (let i = 1; i <= 3; i++) await q.add({ n: i, amount: 100 });
    }
    const [segment] = segmentFiles(dir);
    const bytes = readFileSync(segment!);
    bytes.fill(0x7b, bytes.indexOf('{"n":2'), bytes.indexOf('{"n":2') + 6);
    writeFileSync(segment!, bytes);
    await using spool = await open(`file:${dir}`);
    const q = spool.queue<Payment>('pay');
    const got: number[] = [];
    const failed: unknown[] = [];
    const worker = q.process((job) => {
      got.push(job.data.n);
    });
    worker.on('error', (e: unknown) => failed.push(e));
    await new Promise<void>((resolve) => {
      let completed = 0;
      worker.on('completed', () => {
        if (++completed === 2) resolve();
      });
    });
    await worker.close();
    assert.deepEqual(got, [1, 3]);
    assert.deepEqual(failed, []);
    assert.equal((await q.counts()).dead, 1);
  });
});

void test("a repair killed after its pad covered a damaged add, before that add's jobs were dropped: the job goes dead, the pad is never handed out as its payload", async () => {
  const dir = freshDir();
  await changedDigit(dir, false);
  // What a kill -9 leaves: the repair's pad written and synced, then no further write lands.
  let synced = false;
  const io: FileIO = {
    ...nodeIO,
    datasync: async (fd) => {
      await nodeIO.datasync(fd);
      synced = true;
    },
    write: (fd, buf, position) => {
      if (synced) throw Object.assign(new Error('killed'), { code: 'EIO' });
      nodeIO.write(fd, buf, position);
    },
  };
  try {
    const store = await FileStore.open(dir, { repair: true, io });
    await store.close();
  } catch {
    // The open may fail at its first write after the pad, as the killed process did.
  }
  await using spool = await open(`file:${dir}`);
  const q = spool.queue<Payment>('pay');
  const seen: number[] = [];
  for (let jobs = await q.lease({ max: 2 }); jobs.length > 0; jobs = await q.lease({ max: 2 }))
    for (const job of jobs) {
      seen.push(job.data.n);
      await job.ack();
    }
  assert.deepEqual(seen, [1, 2, 4, 5, 6, 7, 8, 9, 10]);
  assert.equal((await q.counts()).dead, 1);
  await assert.rejects(q.dead(), (e: unknown) => e instanceof CorruptionError && /not a payload's/.test(e.message));
});

/** Adds `count` jobs over segments of 4 KiB and closes cleanly; returns the segment files. */
async function segmentsOfJobs(dir: string, count: number): Promise<string[]> {
  const store = await FileStore.open(dir, { segmentBytes: 4096 });
  await using s = await Spool.create(store);
  const q = s.queue('q');
  for (let i = 0; i < count; i++) await q.add(`job ${i} ${'.'.repeat(100)}`);
  return segmentFiles(dir);
}

/** Leases every job; the ones that came back, by number. Any damage handed out would throw or show. */
async function leaseAll(dir: string): Promise<number[]> {
  await using s = await open(`file:${dir}`);
  const q = s.queue<string>('q');
  const got: number[] = [];
  for (let jobs = await q.lease({ max: 100 }); jobs.length > 0; jobs = await q.lease({ max: 100 }))
    for (const job of jobs) {
      assert.match(job.data, /^job \d+ \.+$/);
      got.push(Number(job.data.split(' ')[1]));
      await job.ack();
    }
  assert.equal((await q.counts()).dead, 0);
  return got;
}

/** `spool check` finds it (exit 1, naming the file), `--repair` fixes it, and the directory then checks clean. */
function checkAndRepair(dir: string, file: string, what: RegExp): void {
  const found = spool('check', dir);
  assert.equal(found.status, 1, found.stdout + found.stderr);
  assert.match(found.stdout, new RegExp(`${file} at \\d+: ${what.source}`));
  const repaired = spool('check', '--repair', dir);
  assert.equal(repaired.status, 0, repaired.stdout + repaired.stderr);
  const clean = spool('check', dir);
  assert.equal(clean.status, 0, clean.stdout + clean.stderr);
}

void describe('a cut segment', () => {
  void test('cut to half after a clean close: the open refuses naming file and offset; check finds it, repair keeps every intact record', async () => {
    const dir = freshDir();
    const segments = await segmentsOfJobs(dir, 200);
    assert.ok(segments.length >= 4, `${segments.length} segments`);
    const victim = segments[1]!;
    const size = statSync(victim).size;
    truncateSync(victim, size >> 1);
    await assert.rejects(
      open(`file:${dir}`),
      (e: unknown) =>
        e instanceof StorageError &&
        e.message.includes(victim) &&
        e.message.includes(`segment cut at offset ${size >> 1}`),
    );
    checkAndRepair(dir, victim, /segment cut/);
    const got = await leaseAll(dir);
    // Every job but the ones whose records were in the lost half, in order.
    assert.ok(got.length < 200 && got.length > 150, `${got.length} jobs kept`);
    assert.deepEqual(
      got,
      [...got].sort((a, b) => a - b),
    );
    assert.equal(got[0], 0);
    assert.equal(got.at(-1), 199);
  });

  for (const which of ['a middle segment', 'the newest segment'] as const) {
    void test(`${which} cut inside its header: refused, never deleted; repair keeps the other segments whole`, async () => {
      const dir = freshDir();
      const segments = await segmentsOfJobs(dir, 200);
      const victim = which === 'the newest segment' ? segments.at(-1)! : segments[2]!;
      truncateSync(victim, 10);
      for (let i = 0; i < 2; i++)
        await assert.rejects(
          open(`file:${dir}`),
          (e: unknown) => e instanceof StorageError && e.message.includes(`${victim}: bad segment header`),
        );
      assert.ok(existsSync(victim));
      checkAndRepair(dir, victim, /bad segment header/);
      // The damaged file is kept beside the fresh one that took its place.
      assert.ok(existsSync(`${victim}.damaged`));
      const got = await leaseAll(dir);
      assert.ok(got.length < 200 && got.length > 150, `${got.length} jobs kept`);
      assert.deepEqual(
        got,
        [...got].sort((a, b) => a - b),
      );
    });
  }

  void test('a segment deleted that jobs of the checkpoint need: the open refuses and says to run spool check --repair, which finds it and repairs it', async () => {
    const dir = freshDir();
    const segments = await segmentsOfJobs(dir, 200);
    const victim = segments[2]!;
    rmSync(victim);
    await assert.rejects(
      open(`file:${dir}`),
      (e: unknown) =>
        e instanceof StorageError &&
        e.message.includes(`${victim}: segment missing`) &&
        e.message.includes('spool check --repair'),
    );
    checkAndRepair(dir, victim, /segment missing, and \d+ jobs have their payloads there/);
    const got = await leaseAll(dir);
    assert.ok(got.length < 200 && got.length > 150, `${got.length} jobs kept`);
    assert.equal(got[0], 0);
    assert.equal(got.at(-1), 199);
  });

  void test('after kill -9, a cut below what a checkpoint recorded as synced is refused; one above it is a torn tail', async () => {
    for (const below of [true, false]) {
      const dir = freshDir();
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', join(import.meta.dirname, 'fixtures', 'checkpointed-writer.ts'), dir],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      await new Promise((resolve) => child.stdout.once('data', resolve));
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
      const [segment] = segmentFiles(dir);
      const bytes = readFileSync(segment!);
      // Inside job 50's record (synced, and recorded by the checkpoint), or job 110's (after it).
      const cut = bytes.indexOf(`job ${below ? 50 : 110} `);
      truncateSync(segment!, cut);
      if (!below) {
        // Nothing on disk says job 110 and later were synced: the open takes the cut for a torn
        // write and keeps jobs 0–109 (docs/file-store.md, "What a cut can be told from").
        assert.deepEqual(
          await leaseAll(dir),
          Array.from({ length: 110 }, (_, i) => i),
        );
        continue;
      }
      await assert.rejects(
        open(`file:${dir}`),
        (e: unknown) => e instanceof StorageError && e.message.includes(`${segment}: segment cut at offset ${cut}`),
      );
      checkAndRepair(dir, segment!, /segment cut/);
      assert.deepEqual(
        await leaseAll(dir),
        Array.from({ length: 50 }, (_, i) => i),
      );
    }
  });
});

void test('checkpoints deleted and the log no longer starting at its first segment: the open refuses, and spool check says so (exit 1) instead of ok', async () => {
  const dir = freshDir();
  {
    const store = await FileStore.open(dir, { segmentBytes: 4096 });
    await using s = await Spool.create(store);
    const q = s.queue('q', { keepCompleted: false });
    // Drained jobs give their segments back, so the log comes to start past its first segment.
    for (let i = 0; i < 100; i++) {
      await q.add(`gone ${i} ${'.'.repeat(100)}`);
      for (const job of await q.lease()) await job.ack();
    }
    for (let i = 0; i < 5; i++) await q.add(`kept ${i}`);
  }
  const segments = segmentFiles(dir);
  assert.ok(!segments[0]!.endsWith('000000000001.seg'), segments[0]);
  for (const name of readdirSync(dir)) if (name.startsWith('checkpoint-')) rmSync(join(dir, name));
  await assert.rejects(
    open(`file:${dir}`),
    (e: unknown) => e instanceof StorageError && e.message.includes('no usable checkpoint'),
  );
  const found = spool('check', dir);
  assert.equal(found.status, 1, found.stdout + found.stderr);
  assert.match(found.stdout, /no usable checkpoint, and the log starts at \d{12}\.seg/);
  const repaired = spool('check', '--repair', dir);
  assert.equal(repaired.status, 0, repaired.stdout + repaired.stderr);
  assert.equal(spool('check', dir).status, 0);
  await using s = await open(`file:${dir}`);
  assert.equal((await s.queue('q').counts()).waiting, 5);
});
