/** Entries of lines that delete lazily are swept out once they outnumber the live ones by this much. */
export const sweepSlack = 1024;

/**
 * A binary min-heap of job sequence numbers, each entry carrying its own sort keys (`a`, then
 * `b`, then the sequence number), in typed arrays: 20 bytes an entry and no object per job, 12
 * for a heap of one key (`b` always 0: due times, expiries). Entries are deleted lazily: the owner
 * checks an entry against the job's current columns when it comes out, so the keys must live in
 * the entry (the job may be long gone by then).
 */
export class KeyHeap {
  #a = new Float64Array(16);
  #b: Float64Array | null;
  #s = new Uint32Array(16);
  #n = 0;

  constructor(keys: 1 | 2) {
    this.#b = keys === 2 ? new Float64Array(16) : null;
  }

  get size(): number {
    return this.#n;
  }

  /** The top entry's keys and sequence number; only when `size` > 0. */
  get topA(): number {
    return this.#a[0] as number;
  }
  get topB(): number {
    return this.#bAt(0);
  }
  get topSeq(): number {
    return this.#s[0] as number;
  }

  push(a: number, b: number, seq: number): void {
    // Grows by half, not double: at a million entries the slack is what a job costs.
    if (this.#n === this.#s.length) this.#grow(Math.ceil(this.#n * 1.5));
    this.#up(this.#n++, a, b, seq);
  }

  pop(): void {
    const n = --this.#n;
    if (n > 0) this.#down(0, this.#a[n] as number, this.#bAt(n), this.#s[n] as number);
    if (n > 64 && n * 4 < this.#s.length) this.#grow(n * 2);
  }

  /** Keeps only the entries `keep` accepts, in O(n): how stale entries are swept out. */
  filter(keep: (a: number, b: number, seq: number) => boolean): void {
    let w = 0;
    for (let r = 0; r < this.#n; r++) {
      const a = this.#a[r] as number;
      const b = this.#bAt(r);
      const s = this.#s[r] as number;
      if (!keep(a, b, s)) continue;
      this.#set(w++, a, b, s);
    }
    this.#n = w;
    for (let i = (w >> 1) - 1; i >= 0; i--) this.#down(i, this.#a[i] as number, this.#bAt(i), this.#s[i] as number);
  }

  /** Sequence numbers of the first `k` entries in heap order that `valid` accepts, unchanged heap. */
  smallest(k: number, valid: (a: number, b: number, seq: number) => boolean): number[] {
    const order = Array.from({ length: this.#n }, (_, i) => i)
      .filter((i) => valid(this.#a[i] as number, this.#bAt(i), this.#s[i] as number))
      .sort((i, j) => (this.#before(i, j) ? -1 : 1));
    return order.slice(0, k).map((i) => this.#s[i] as number);
  }

  #before(i: number, j: number): boolean {
    return before(
      this.#a[i] as number,
      this.#bAt(i),
      this.#s[i] as number,
      this.#a[j] as number,
      this.#bAt(j),
      this.#s[j] as number,
    );
  }

  /** Whether (a, b, s) comes before the entry at `j`. */
  #less(a: number, b: number, s: number, j: number): boolean {
    return before(a, b, s, this.#a[j] as number, this.#bAt(j), this.#s[j] as number);
  }

  #up(i: number, a: number, b: number, s: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#less(a, b, s, parent)) break;
      this.#move(parent, i);
      i = parent;
    }
    this.#set(i, a, b, s);
  }

  #down(i: number, a: number, b: number, s: number): void {
    const n = this.#n;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && this.#before(child + 1, child)) child++;
      if (!before(this.#a[child] as number, this.#bAt(child), this.#s[child] as number, a, b, s)) break;
      this.#move(child, i);
      i = child;
    }
    this.#set(i, a, b, s);
  }

  #bAt(i: number): number {
    return this.#b === null ? 0 : (this.#b[i] as number);
  }

  #move(from: number, to: number): void {
    this.#set(to, this.#a[from] as number, this.#bAt(from), this.#s[from] as number);
  }

  #set(i: number, a: number, b: number, s: number): void {
    this.#a[i] = a;
    if (this.#b !== null) this.#b[i] = b;
    this.#s[i] = s;
  }

  #grow(capacity: number): void {
    const a = new Float64Array(Math.max(16, capacity));
    const s = new Uint32Array(a.length);
    a.set(this.#a.subarray(0, this.#n));
    s.set(this.#s.subarray(0, this.#n));
    if (this.#b !== null) {
      const b = new Float64Array(a.length);
      b.set(this.#b.subarray(0, this.#n));
      this.#b = b;
    }
    this.#a = a;
    this.#s = s;
  }
}

/** Whether entry (a1, b1, s1) comes before (a2, b2, s2). */
export function before(a1: number, b1: number, s1: number, a2: number, b2: number, s2: number): boolean {
  if (a1 !== a2) return a1 < a2;
  if (b1 !== b2) return b1 < b2;
  return s1 < s2;
}
