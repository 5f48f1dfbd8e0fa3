// A Disque protocol server on a random port over a fresh spool, and redis-cli to talk to it.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { open } from '../../src/index.ts';
import type { Clock, Spool } from '../../src/index.ts';
import { createRespServer } from '../../src/server/index.ts';
import type { RespServer, RespServerOptions } from '../../src/server/index.ts';
import { testStore } from '../support/test-store.ts';

export interface RunningResp {
  readonly spool: Spool;
  readonly server: RespServer;
  readonly port: number;
  /** redis-cli with its typed output (`(integer) 1`, `"bulk"`, status bare), one reply. */
  cli(...args: string[]): Promise<string>;
  close(): Promise<void>;
}

const run = promisify(execFile);

/** `clock`: the spool's (a ManualClock moves the server's times too); the others are the server's. */
export async function startResp(
  options: Omit<RespServerOptions, 'spool'> & { clock?: Clock } = {},
): Promise<RunningResp> {
  const { clock, ...serverOptions } = options;
  const spool = await open(testStore.url(), clock === undefined ? {} : { clock });
  const server = createRespServer({ ...serverOptions, spool });
  const { port } = await server.listen(0);
  return {
    spool,
    server,
    port,
    async cli(...args) {
      const { stdout } = await run('redis-cli', ['-p', String(port), '--no-raw', ...args]);
      return stdout.trimEnd();
    },
    async close() {
      await server.close();
      await spool.close();
    },
  };
}
