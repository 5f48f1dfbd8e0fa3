// The connections' work of one turn of the event loop, done together in one callback.
//
// Node calls a socket's 'data' listener in a callback of its own, and runs the microtasks
// after each: commands of 50 clients arriving together would each reach the store alone. Read
// here, they all run before any microtask, so the core's per-tick batches (TickBatch) take
// every ADDJOB, and every ACKJOB, of the turn in one store call. Flushes are batched too, but
// sooner: once the microtasks that answer the turn's commands are done (a memory store answers
// in them), in one next-tick callback for all the connections with replies to write, so the
// replies go out in the turn their commands were read in, not after another poll of the loop.

export class Turn {
  #tasks: (() => void)[] = [];
  #scheduled = false;
  #flushes: (() => void)[] = [];
  #flushing = false;

  /**
   * Runs `task` once, with the others, as soon as the work of this moment is done — the
   * microtasks it set off included — before the event loop polls again: a reply is written in
   * the turn its command was answered in, not one turn later (issue 17).
   */
  soon(task: () => void): void {
    this.#flushes.push(task);
    if (!this.#flushing) {
      this.#flushing = true;
      process.nextTick(this.#flush);
    }
  }

  readonly #flush = (): void => {
    const tasks = this.#flushes;
    this.#flushes = [];
    this.#flushing = false;
    for (const task of tasks) task();
  };

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
