// Checkpoints of the SQLite store's WAL, on a thread of their own. A checkpoint copies the WAL's
// pages into the database file and syncs both; left to SQLite (wal_autocheckpoint), it runs inside
// the commit that crosses 1,000 pages, on the event loop's thread, every ~40 commits of a busy
// worker: two fsyncs the whole process waits for, longer still while another process writes to
// the disk (e2e c=64 on synchronous=normal: ~23k jobs/s against ~40k without them, with a disk
// writer beside it). Here a worker thread with its own connection checkpoints every `everyMs`
// (PASSIVE: it never waits for the store's writes, nor they for it), and the store's connection
// keeps SQLite's own checkpoint only as a backstop, should the thread fall far behind or fail.
import { Worker } from 'node:worker_threads';

export interface CheckpointerOptions {
  /** The database file. */
  readonly path: string;
  /** An absolute path the thread requires its driver from (better-sqlite3 or libsql: same API). */
  readonly driver: string;
  readonly busyTimeoutMs: number;
  readonly everyMs: number;
}

/** WAL pages past which the store's own connection checkpoints while the thread runs: 40 MB. */
export const backstopPages = 10_000;

// CommonJS, evaluated: a thread needs no file of its own, under tsx as in the built package.
const source = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path, { timeout: workerData.busyTimeoutMs });
const checkpoint = () => {
  try {
    db.exec('PRAGMA wal_checkpoint(PASSIVE)');
  } catch {
    // Busy or failing: the next tick tries again; the store's backstop bounds the WAL meanwhile.
  }
};
const timer = setInterval(checkpoint, workerData.everyMs);
parentPort.once('message', () => {
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

export class Checkpointer {
  readonly #worker: Worker;
  readonly #exited: Promise<void>;
  #closing = false;

  /** Starts the thread; `failed` is told if it stops by itself (it could not open the file, say). */
  constructor(options: CheckpointerOptions, failed: (error: Error) => void) {
    this.#worker = new Worker(source, { eval: true, workerData: options });
    // A store left open does not keep the process alive for its checkpoints.
    this.#worker.unref();
    this.#worker.once('error', (error) => {
      if (!this.#closing) failed(error);
    });
    this.#exited = new Promise((resolve) => this.#worker.once('exit', () => resolve()));
  }

  /** Closes the thread's connection and waits for the thread to end. */
  async close(): Promise<void> {
    this.#closing = true;
    // Held now: the process waits for the thread's connection to close, as for the store's own.
    this.#worker.ref();
    this.#worker.postMessage('close');
    await this.#exited;
  }
}
