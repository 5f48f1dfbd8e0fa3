// plainjob on a fresh SQLite file through better-sqlite3, with the synchronous level that sets its durability.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { better, defineQueue, defineWorker } from 'plainjob';
import type { Worker } from 'plainjob';
import type { Durability, Payload, Subject, WorkerEvents } from '../scenarios.ts';
import { versionOf } from './version.ts';

const jobType = 'bench';
// plainjob logs every job at debug level and each worker's stop at info level.
const quiet = { error: console.error, warn: () => undefined, info: () => undefined, debug: () => undefined };

// In WAL mode FULL syncs the WAL at every commit; NORMAL only at checkpoints, so a power cut can roll back
// the last commits (https://www.sqlite.org/pragma.html#pragma_synchronous).
const levels = { FULL: { code: 2, durable: 'power-loss' }, NORMAL: { code: 1, durable: 'process-crash' } } as const;

export function openPlainjob(synchronous: 'FULL' | 'NORMAL', pollMs: number): Subject {
  const dir = mkdtempSync(join(tmpdir(), 'spool-bench-plainjob-'));
  const db = new Database(join(dir, 'jobs.db'));
  const queue = defineQueue({ connection: better(db), logger: quiet });
  // defineQueue sets synchronous = NORMAL itself; the level asked for goes on after it.
  db.pragma(`synchronous = ${synchronous}`);
  const level = levels[synchronous];
  if (db.pragma('synchronous', { simple: true }) !== level.code) throw new Error(`synchronous=${synchronous} not set`);
  const durable: Durability = level.durable;
  const workers: Worker[] = [];
  return {
    version: `${versionOf('plainjob')} (better-sqlite3 ${versionOf('better-sqlite3')})`,
    durable,
    add: (data) => Promise.resolve(queue.add(jobType, data)),
    addBulk: (data) => Promise.resolve(queue.addMany(jobType, data)),
    // SQLite is called synchronously, so c loops on one thread is plainjob's only form of concurrency.
    startWorker(concurrency: number, events: WorkerEvents): Promise<void> {
      for (let k = 0; k < concurrency; k++) {
        const worker = defineWorker(
          jobType,
          (job) => Promise.resolve(events.started(JSON.parse(job.data) as Payload)),
          { queue, logger: quiet, pollIntervall: pollMs, onCompleted: () => events.completed() },
        );
        workers.push(worker);
        worker.start().catch((error: unknown) => console.error('plainjob worker:', error));
      }
      return Promise.resolve();
    },
    async close() {
      await Promise.all(workers.map((w) => w.stop()));
      queue.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
