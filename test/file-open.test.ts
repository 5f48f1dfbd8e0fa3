// Opening a data directory the file system refuses is a StorageError naming the path and the
// cause, at once (issue 13): /proc, which Node's recursive mkdir looped on for ever; a read-only
// mount, with the directory there or its parent missing; a path under a regular file.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

const root = mkdtempSync(join(tmpdir(), 'spool-open-'));
after(() => rmSync(root, { recursive: true, force: true }));
const probe = join(import.meta.dirname, 'fixtures', 'open-probe.ts');

/**
 * Opens `file:<dir>` in a child process and returns what it threw. A child, because the old
 * failure blocked the event loop for good: the time-out only ends a hung child.
 */
function openError(dir: string): { name: string; code: string; message: string } {
  const run = spawnSync(process.execPath, ['--import', 'tsx', probe, dir], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(run.signal, null, `the open of ${dir} hung`);
  return JSON.parse(run.stdout) as { name: string; code: string; message: string };
}

function assertRefused(dir: string, cause: RegExp): void {
  const error = openError(dir);
  assert.equal(error.name, 'StorageError', error.message);
  assert.equal(error.code, 'STORAGE');
  assert.ok(error.message.startsWith(`${dir}: cannot open the data directory`), error.message);
  assert.match(error.message, cause);
}

void test('a directory in /proc: StorageError, not a spin', () => {
  assertRefused('/proc/spool-x', /ENOENT/);
});

// node:fs names only the errno: "EEXIST: file already exists, mkdir '<path>'" for the file itself.
void test('a path that is a regular file, or under one: StorageError saying which is a file, with the errno', () => {
  const file = join(root, 'a-file');
  writeFileSync(file, '');
  assertRefused(file, /: it is a file, not a directory \(EEXIST/);
  assertRefused(join(file, 'data'), new RegExp(`: ${file} is a file, not a directory \\(ENOTDIR`));
});

void test('a read-only directory, and a missing one on a read-only mount: StorageError naming the cause', () => {
  const ro = join(root, 'ro');
  mkdirSync(ro);
  // As root, only a read-only mount refuses a write; elsewhere the mode bits do.
  let mounted = false;
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro', 'tmpfs', ro], { stdio: 'ignore' });
    mounted = true;
  } catch {
    chmodSync(ro, 0o555);
  }
  try {
    const cause = mounted ? /EROFS/ : /EACCES/;
    assertRefused(ro, cause);
    assertRefused(join(ro, 'missing', 'data'), cause);
  } finally {
    if (mounted) execFileSync('umount', [ro]);
    else chmodSync(ro, 0o755);
  }
});
