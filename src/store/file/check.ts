// `spool check`: verifies every record of every segment and every checkpoint of a data
// directory, without opening the store (recovery.ts's `verifyDataDir`); with repair, opens it
// with repair (which keeps every intact record and writes a fresh checkpoint) and verifies again.
import { readdirSync } from 'node:fs';
import { StorageError } from '../../errors.ts';
import { setAsideBadCheckpoints } from './checkpoint.ts';
import { FileStore } from './file-store.ts';
import { nodeIO, readingIO } from './io.ts';
import type { FileIO } from './io.ts';
import { verifyDataDir } from './recovery.ts';
import type { Verified } from './recovery.ts';

export type { CheckProblem } from './recovery.ts';

export interface CheckReport extends Verified {
  /** Set when repair ran: the jobs the repaired store holds. */
  readonly repairedJobs?: number;
}

export interface CheckOptions {
  readonly repair?: boolean;
  /** Called as segments are verified, with bytes done and bytes in all. */
  readonly progress?: (done: number, total: number) => void;
  readonly io?: FileIO;
}

export async function checkDataDir(dir: string, options: CheckOptions = {}): Promise<CheckReport> {
  readable(dir);
  const io = options.io ?? nodeIO;
  const reading = options.io ?? readingIO;
  const first = verifyDataDir(dir, reading, options.progress);
  if (options.repair !== true || first.problems.length === 0) return first;
  const store = await FileStore.open(dir, { repair: true, io });
  // Under the store's lock: the open has passed over them and written a good one.
  setAsideBadCheckpoints(io, dir);
  const repairedJobs = store.report.jobs;
  await store.close();
  return { ...verifyDataDir(dir, reading, options.progress), repairedJobs };
}

/**
 * The directory must be there: `io.list` reads a missing one as empty (an open creates it), so
 * `spool check ./typo` verified nothing and said ok.
 */
function readable(dir: string): void {
  try {
    readdirSync(dir);
  } catch (error) {
    throw new StorageError(`${dir}: cannot read the data directory: ${(error as Error).message}`, { cause: error });
  }
}
