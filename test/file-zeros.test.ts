// The file store keeps zeros written and synced ahead of the records of the segment it writes, so a
// commit's sync overwrites blocks the file has (src/store/file/log.ts, "Zeros ahead"). What that
// must never cost: a record overwritten by zeros, a segment left with zeros before the next one
// (an open would take them for damage), zeros left after a clean close, or a job after a crash.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, openSync, readdirSync, readSync, closeSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Spool } from '../src/index.ts';
import { checkDataDir, FileStore } from '../src/store/file/index.ts';
import { killLoop } from './support/kill-loop.ts';

const root = mkdtempSync(join(tmpdir(), 'spool-zeros-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshDir = (): string => join(root, String(++n));

const segments = (dir: string): string[] =>
  readdirSync(dir)
    .filter((name) => name.endsWith('.seg'))
    .sort()
    .map((name) => join(dir, name));

/** The last `length` bytes of a file. */
function tail(path: string, length: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const out = Buffer.alloc(length);
    readSync(fd, out, 0, length, statSync(path).size - length);
    return out;
  } finally {
    closeSync(fd);
  }
}

/** Job `i`'s payload: 1 KiB that tells which job it is at every offset. */
const payload = (i: number): string => `${i}:`.padEnd(1024, String.fromCharCode(97 + (i % 26)));

/** Adds `count` jobs from `from` in rounds of 50, each its own commit: the zeros ahead get overwritten many times. */
async function addRounds(spool: Spool, from: number, count: number): Promise<void> {
  const q = spool.queue<string>('q');
  for (let i = from; i < from + count; i += 50)
    await q.addBulk(Array.from({ length: Math.min(50, from + count - i) }, (_, k) => ({ data: payload(i + k) })));
}

/** Every job's payload, leased in order and acked: each one whole. */
async function drainAll(spool: Spool, count: number): Promise<void> {
  const q = spool.queue<string>('q');
  const seen: string[] = [];
  for (;;) {
    const jobs = await q.lease({ max: 500 });
    if (jobs.length === 0) break;
    for (const job of jobs) seen.push(job.data);
    await Promise.all(jobs.map((job) => job.ack()));
  }
  assert.equal(seen.length, count);
  assert.deepEqual(
    seen,
    Array.from({ length: count }, (_, i) => payload(i)),
  );
}

void test('a segment of more than a MiB has zeros ahead of its records while open, none after a clean close, and every record whole', async () => {
  const dir = freshDir();
  {
    await using spool = await Spool.create(await FileStore.open(dir));
    await addRounds(spool, 0, 3000); // ~3.2 MB: past the first MiB, in 60 commits
    const [segment] = segments(dir);
    assert.ok(
      tail(segment!, 64 << 10).every((b) => b === 0),
      'the file ends in zeros written ahead of its records',
    );
  }
  const [segment] = segments(dir);
  assert.ok(
    tail(segment!, 64).some((b) => b !== 0),
    'a clean close cuts the zeros off',
  );
  const check = await checkDataDir(dir);
  assert.deepEqual([check.problems, check.tornTail], [[], null]);
  await using spool = await Spool.create(await FileStore.open(dir));
  await drainAll(spool, 3000);
});

void test('a crash with zeros ahead (the files as a killed process leaves them) opens with every job; check calls the zeros a torn tail', async () => {
  const dir = freshDir();
  const copy = freshDir();
  {
    await using spool = await Spool.create(await FileStore.open(dir));
    await addRounds(spool, 0, 2000);
    // What a kill -9 leaves: every answered add synced, the zeros ahead still there.
    cpSync(dir, copy, { recursive: true });
  }
  const check = await checkDataDir(copy);
  assert.deepEqual(check.problems, []);
  assert.match(check.tornTail?.what ?? '', /torn tail/);
  await using spool = await Spool.create(await FileStore.open(copy));
  await drainAll(spool, 2000);
});

void test('a segment is cut back to its records before the next one is created: every segment but the last ends in a record', async () => {
  const dir = freshDir();
  {
    await using spool = await Spool.create(await FileStore.open(dir, { segmentBytes: 1_500_000 }));
    await addRounds(spool, 0, 5000); // ~5.3 MB: four segments or more
    const all = segments(dir);
    assert.ok(all.length >= 4, `${all.length} segments`);
    for (const path of all.slice(0, -1))
      assert.ok(
        tail(path, 64).some((b) => b !== 0),
        `${path} ends in its records, not in zeros`,
      );
    // As a crash leaves them: the last segment's zeros a torn tail, the others whole.
    const copy = freshDir();
    cpSync(dir, copy, { recursive: true });
    const check = await checkDataDir(copy);
    assert.deepEqual(check.problems, []);
    await using reopened = await Spool.create(await FileStore.open(copy, { segmentBytes: 1_500_000 }));
    await drainAll(reopened, 5000);
  }
});

void test('kill -9 at random moments, 30 times, of a writer whose segment has zeros ahead: every resolved add is there, open always succeeds', async () => {
  const dir = freshDir();
  {
    // Past the first MiB before the first kill: the writer keeps zeros ahead from its first commit.
    await using spool = await Spool.create(await FileStore.open(dir));
    await addRounds(spool, 0, 1200);
  }
  await killLoop(`file:${dir}`, () => FileStore.open(dir), 30);
  const check = await checkDataDir(dir);
  assert.deepEqual(check.problems, []);
});
