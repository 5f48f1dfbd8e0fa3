import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { open } from '../src/index.ts';
import { checkDataDir } from '../src/store/file/index.ts';
import { nodeIO } from '../src/store/file/io.ts';
import type { FileIO } from '../src/store/file/io.ts';
import { spoolCli as spool } from './support/file-dirs.ts';

const root = mkdtempSync(join(tmpdir(), 'spool-check-'));
after(() => rmSync(root, { recursive: true, force: true }));

void test('spool check finds damage, --repair keeps every intact record, and the directory then checks clean', async () => {
  const dir = join(root, 'data');
  {
    await using s = await open(`file:${dir}`);
    const q = s.queue('q');
    for (const data of ['one', 'two', 'three']) await q.add(`${data} ${'.'.repeat(64)}`);
  }
  const clean = spool('check', dir);
  assert.equal(clean.status, 0, clean.stdout + clean.stderr);
  assert.match(clean.stdout, /1 segments, \d+ records/);

  const segment = join(
    dir,
    readdirSync(dir).find((f) => f.endsWith('.seg'))!,
  );
  const bytes = readFileSync(segment);
  bytes.fill(0x5a, bytes.indexOf('two'), bytes.indexOf('two') + 8);
  writeFileSync(segment, bytes);

  const damaged = spool('check', dir);
  assert.equal(damaged.status, 1);
  assert.match(damaged.stdout, new RegExp(`${segment} at \\d+: damaged record`));
  assert.match(damaged.stdout, /run `spool check --repair`/);

  const repaired = spool('check', '--repair', dir);
  assert.equal(repaired.status, 0, repaired.stdout + repaired.stderr);
  assert.match(repaired.stdout, /repaired: the store opens with 2 jobs/);
  assert.equal(spool('check', dir).status, 0);

  // The job whose payload was damaged is gone; the others read back intact, with their ids.
  await using s = await open(`file:${dir}`);
  const jobs = await s.queue('q').peek(10);
  assert.deepEqual(
    jobs.map((j) => [j.id, (j.data as string).split(' ')[0]]),
    [
      ['1', 'one'],
      ['3', 'three'],
    ],
  );
});

void test('spool check of a directory that is not there, or of a file, is an error: one line, exit 1, no "ok"', () => {
  const file = join(root, 'a-file');
  writeFileSync(file, 'not a data directory');
  for (const [dir, problem] of [
    [join(root, 'no-such-dir'), 'ENOENT'],
    [file, 'ENOTDIR'],
  ] as const) {
    const checked = spool('check', dir);
    assert.equal(checked.status, 1, checked.stdout);
    assert.equal(checked.stdout, '');
    assert.match(
      checked.stderr,
      new RegExp(`^spool: ${dir}: cannot read the data directory: ${problem}\\b[^\\n]*\\n$`),
    );
  }
  assert.equal(existsSync(join(root, 'no-such-dir')), false, 'check creates nothing');
});

void test('spool check verifies a directory it may only read (a read-only mount, or files without write permission)', async () => {
  const dir = join(root, 'readable');
  {
    await using s = await open(`file:${dir}`);
    await s.queue('q').add('kept');
  }
  const ro = join(root, 'readable-ro');
  mkdirSync(ro);
  // As root, only a read-only mount refuses a write; elsewhere the mode bits do.
  let mounted = false;
  try {
    execFileSync('mount', ['--bind', dir, ro], { stdio: 'ignore' });
    mounted = true;
    execFileSync('mount', ['-o', 'remount,ro,bind', ro], { stdio: 'ignore' });
  } catch {
    if (mounted) execFileSync('umount', [ro]);
    mounted = false;
    rmSync(ro, { recursive: true });
    cpSync(dir, ro, { recursive: true });
    for (const name of readdirSync(ro)) chmodSync(join(ro, name), 0o444);
  }
  try {
    const checked = spool('check', ro);
    assert.equal(checked.status, 0, checked.stdout + checked.stderr);
    assert.match(checked.stdout, /ok$/m);
  } finally {
    if (mounted) execFileSync('umount', [ro]);
  }
});

void test('spool check beside a running store: a checkpoint or a drained segment deleted after the listing is not there, not an ENOENT', async () => {
  const dir = join(root, 'pruned');
  for (const data of ['a', 'b']) {
    await using s = await open(`file:${dir}`);
    const q = s.queue('q', { keepCompleted: false });
    await q.add(data);
    for (const job of await q.lease()) await job.ack();
  }
  // The owner prunes as check reads: an older checkpoint and a drained segment before the log's
  // first are listed, and gone by the time check reads them.
  const io: FileIO = {
    ...nodeIO,
    list: (path) => [...nodeIO.list(path), 'checkpoint-0000000000000001-000000000001', '000000000000.seg'],
  };
  const report = await checkDataDir(dir, { io });
  assert.deepEqual(report.problems, []);
  assert.equal(report.segments, 1);
  assert.equal(report.checkpoints, 2);
});
