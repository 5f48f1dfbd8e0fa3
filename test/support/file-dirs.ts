// What the file-store tests share: fresh data directories, the files in one, and the CLI.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import type { SpawnSyncReturns } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';

/** A maker of fresh directories under one temporary root, removed after the calling file's tests. */
export function tempDirs(prefix: string): () => string {
  const root = mkdtempSync(join(tmpdir(), prefix));
  after(() => rmSync(root, { recursive: true, force: true }));
  let n = 0;
  return () => join(root, String(++n));
}

/** A data directory's segment files, oldest first. */
export const segmentFiles = (dir: string): string[] =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.seg'))
    .sort()
    .map((f) => join(dir, f));

/** A data directory's checkpoint files, newest first. */
export const checkpointFiles = (dir: string): string[] =>
  readdirSync(dir)
    .filter((f) => f.startsWith('checkpoint-') && !f.endsWith('.tmp'))
    .sort()
    .reverse()
    .map((f) => join(dir, f));

const cli = join(import.meta.dirname, '..', '..', 'src', 'cli', 'main.ts');

/** Runs the `spool` command line to its end. */
export const spoolCli = (...args: string[]): SpawnSyncReturns<string> =>
  spawnSync(process.execPath, ['--import', 'tsx', cli, ...args], { encoding: 'utf8' });
