// The spool command as the tests run it: the TypeScript source through tsx, as `npx spool` would
// run the built one.
import { spawnSync } from 'node:child_process';
import type { SpawnSyncReturns } from 'node:child_process';

/** node's arguments that start the CLI; spawn(process.execPath, [...cli, ...args]). */
export const cli = ['--import', 'tsx', 'src/cli/main.ts'];

/** Runs `spool args…` to its end (30 s at most), with `env` over this process's environment. */
export function runCli(args: readonly string[], env: Record<string, string> = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [...cli, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 30_000,
  });
}
