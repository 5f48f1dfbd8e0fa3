// Running out of file descriptors is not the end of a file store (issue 20, defect 4): a
// segment roll that fails with EMFILE wrote nothing, so the store refuses calls with a
// StorageError while it lasts and carries on by itself once descriptors are free. (A failed
// write or fsync still stops the store for good: test/storage-failure.test.ts.)
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

const root = mkdtempSync(join(tmpdir(), 'spool-fds-'));
after(() => rmSync(root, { recursive: true, force: true }));
const fixture = join(import.meta.dirname, 'fixtures', 'descriptor-starved.ts');

void test('a segment roll that meets EMFILE: calls fail with StorageError meanwhile, and the store recovers by itself', () => {
  const run = spawnSync(
    'bash',
    ['-c', 'ulimit -n 128 && exec "$0" --import tsx "$1" "$2"', process.execPath, fixture, join(root, 'data')],
    { encoding: 'utf8', timeout: 60_000 },
  );
  assert.equal(run.status, 0, run.stdout + run.stderr);
  const seen = JSON.parse(run.stdout) as { hoarded: number; during: string; ids: number; kept: number };
  assert.ok(seen.hoarded > 0);
  assert.match(seen.during, /^StorageError: .*cannot start a new log segment: EMFILE/);
  // The add that waited for the roll, and every one before and after, is there after a reopen.
  assert.ok(seen.ids >= 5);
  assert.equal(seen.kept, seen.ids);
});
