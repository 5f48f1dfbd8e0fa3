// A list of rows kept sorted by a comparison, for the LevelDB store's in-memory indexes: LevelDB
// reads ranges only asynchronously, and the row engine runs synchronously inside a call.
import type { Row } from '../rows/rows.ts';

export type Compare = (a: Row, b: Row) => number;

export class SortedRows {
  readonly #rows: Row[] = [];

  constructor(private readonly compare: Compare) {}

  get length(): number {
    return this.#rows.length;
  }

  at(index: number): Row | undefined {
    return this.#rows[index];
  }

  /** Appends rows already in order (an open loads them so). */
  push(row: Row): void {
    this.#rows.push(row);
  }

  sort(): void {
    this.#rows.sort(this.compare);
  }

  insert(row: Row): void {
    this.#rows.splice(this.#search(row), 0, row);
  }

  /** Removes the entry that compares equal to `row` (rows compare equal only to their own job). */
  remove(row: Row): void {
    const at = this.#search(row);
    if (this.#rows[at]?.seq === row.seq) this.#rows.splice(at, 1);
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
    return this.#rows.slice(offset, limit === Infinity ? undefined : offset + limit);
  }

  /** The leading rows that `within` accepts. */
  while(within: (row: Row) => boolean): Row[] {
    let end = 0;
    while (end < this.#rows.length && within(this.#rows[end] as Row)) end++;
    return this.#rows.slice(0, end);
  }

  /** The first index whose row does not come before `row`. */
  #search(row: Row): number {
    let lo = 0;
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
