// A list of rows kept sorted by a comparison, for the LevelDB store's in-memory indexes: LevelDB
// reads ranges only asynchronously, and the row engine runs synchronously inside a call.
import type { Row } from '../rows/rows.ts';

export type Compare = (a: Row, b: Row) => number;

export class SortedRows {
  /**
   * The rows from `#head` on; the slots before it are rows taken off the front, cleared. A lease
   * takes the first waiting job: splicing it off moved every row after it, 1.9 ms a lease behind
   * 300,000 waiting jobs against 0.4 ms behind 10,000 (a queue drained in O(n²)).
   */
  #rows: (Row | undefined)[] = [];
  #head = 0;

  constructor(private readonly compare: Compare) {}

  get length(): number {
    return this.#rows.length - this.#head;
  }

  at(index: number): Row | undefined {
    return this.#rows[this.#head + index];
  }

  /** Appends rows already in order (an open loads them so). */
  push(row: Row): void {
    this.#rows.push(row);
  }

  sort(): void {
    this.#compact();
    (this.#rows as Row[]).sort(this.compare);
  }

  insert(row: Row): void {
    this.#rows.splice(this.#search(row), 0, row);
  }

  /** Removes the entry that compares equal to `row` (rows compare equal only to their own job). */
  remove(row: Row): void {
    const at = this.#search(row);
    if (this.#rows[at]?.seq !== row.seq) return;
    if (at !== this.#head) {
      this.#rows.splice(at, 1);
      return;
    }
    this.#rows[at] = undefined;
    this.#head++;
    // Cleared slots are dropped once they are half the array: each row is moved once on average.
    if (this.#head >= 1024 && this.#head * 2 >= this.#rows.length) this.#compact();
  }

  /** Puts `row` in place of `before` (the same job as it was). */
  replace(row: Row, before: Row): void {
    const at = this.#search(before);
    if (this.compare(row, before) === 0 && this.#rows[at]?.seq === before.seq) this.#rows[at] = row;
    else {
      this.remove(before);
      this.insert(row);
    }
  }

  slice(offset: number, limit: number): Row[] {
    const from = this.#head + offset;
    return this.#rows.slice(from, limit === Infinity ? undefined : from + limit) as Row[];
  }

  /** The leading rows that `within` accepts. */
  while(within: (row: Row) => boolean): Row[] {
    let end = this.#head;
    while (end < this.#rows.length && within(this.#rows[end] as Row)) end++;
    return this.#rows.slice(this.#head, end) as Row[];
  }

  #compact(): void {
    if (this.#head === 0) return;
    this.#rows = this.#rows.slice(this.#head);
    this.#head = 0;
  }

  /** The first index from `#head` whose row does not come before `row`. */
  #search(row: Row): number {
    let lo = this.#head;
    let hi = this.#rows.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.compare(this.#rows[mid] as Row, row) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** Lease order: higher priority, then earlier readiness, then lower sequence number. */
export const leaseOrder: Compare = (a, b) => b.priority - a.priority || a.availableAt - b.availableAt || a.seq - b.seq;
export const dueOrder: Compare = (a, b) => a.availableAt - b.availableAt || a.seq - b.seq;
export const leaseEndOrder: Compare = (a, b) => (a.until as number) - (b.until as number) || a.seq - b.seq;
export const finishOrder: Compare = (a, b) => (a.finish as number) - (b.finish as number) || a.seq - b.seq;
export const expiryOrder: Compare = (a, b) => (a.expiresAt as number) - (b.expiresAt as number) || a.seq - b.seq;
