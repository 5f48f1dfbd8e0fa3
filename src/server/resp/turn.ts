// The connections' work of one turn of the event loop, done together in one callback.
//
// Node calls a socket's 'data' listener in a callback of its own, and runs the microtasks
// after each: commands of 50 clients arriving together would each reach the store alone. Read
// here, they all run before any microtask, so the core's per-tick batches (TickBatch) take
// every ADDJOB, and every ACKJOB, of the turn in one store call. Flushes go the same way: one
// immediate a turn for all the connections that have replies to write, not one each.

export class Turn {
  #tasks: (() => void)[] = [];
  #scheduled = false;

  /** Runs `task` once, with the others of this turn; the caller keeps it from being added twice. */
  later(task: () => void): void {
    this.#tasks.push(task);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#run);
    }
  }

  readonly #run = (): void => {
    const tasks = this.#tasks;
    this.#tasks = [];
    this.#scheduled = false;
    for (const task of tasks) task();
  };
}
