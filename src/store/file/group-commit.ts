import type { FileHandle } from 'node:fs/promises';
import { StorageError } from '../../errors.ts';

export type Durability = 'fsync' | 'none';

/**
 * Appends records with group commit: whatever arrives while a write and fdatasync are under
 * way shares the next one, and each promise resolves only once its bytes are durable. A failed
 * write or sync is fatal: the log stops and every pending and later append rejects (the
 * fsyncgate lesson: a retried fsync can report success for pages the kernel already dropped).
 */
export class GroupCommit {
  #pending: Buffer[] = [];
  #waiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  #flushing: Promise<void> | null = null;
  #failed: StorageError | null = null;
  #offset: number;

  constructor(
    private readonly file: FileHandle,
    offset: number,
    private readonly durability: Durability,
    private readonly path: string,
  ) {
    this.#offset = offset;
  }

  append(record: Buffer): Promise<void> {
    if (this.#failed !== null) return Promise.reject(this.#failed);
    this.#pending.push(record);
    const done = new Promise<void>((resolve, reject) => this.#waiters.push({ resolve, reject }));
    this.#flushing ??= this.#flush();
    return done;
  }

  /** Resolves when everything appended so far is durable. */
  async drain(): Promise<void> {
    while (this.#flushing !== null) await this.#flushing;
  }

  async #flush(): Promise<void> {
    // Let every append of this turn of the event loop join the batch.
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (this.#pending.length > 0) {
      const batch = Buffer.concat(this.#pending);
      const waiters = this.#waiters;
      this.#pending = [];
      this.#waiters = [];
      try {
        await this.file.write(batch, 0, batch.length, this.#offset);
        if (this.durability === 'fsync') await this.file.datasync();
        this.#offset += batch.length;
        for (const w of waiters) w.resolve();
      } catch (error) {
        this.#failed = new StorageError(
          `writing ${this.path} failed; the store stops until reopened: ${(error as Error).message}`,
          { cause: error },
        );
        for (const w of [...waiters, ...this.#waiters]) w.reject(this.#failed);
        this.#waiters = [];
        this.#pending = [];
      }
    }
    this.#flushing = null;
  }
}
