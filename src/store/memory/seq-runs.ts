/**
 * A first-in first-out line of sequence numbers kept as runs of consecutive ones, [first, last]
 * in a ring of u32 pairs: jobs added one after another to one queue, the common case, cost
 * nothing here however many there are (issue 4). Numbers leave only from the front, so every
 * number between the front and the back was pushed and has not been taken yet.
 */
export class SeqRuns {
  /** Pairs first, last; the front run at `#head`, `#runs` of them, wrapping around. */
  #ring = new Uint32Array(32);
  #head = 0;
  #runs = 0;
  #length = 0;

  /** How many numbers it holds. */
  get length(): number {
    return this.#length;
  }

  /** How many runs it keeps: what it costs, 8 bytes each. */
  get runs(): number {
    return this.#runs;
  }

  /** The front number; only when `length` > 0. */
  get front(): number {
    return this.#ring[this.#head * 2] as number;
  }

  push(seq: number): void {
    this.#length++;
    if (this.#runs > 0) {
      const back = this.#slot(this.#runs - 1);
      if (this.#ring[back + 1] === seq - 1) {
        this.#ring[back + 1] = seq;
        return;
      }
    }
    if (this.#runs * 2 === this.#ring.length) this.#resize(this.#ring.length * 2);
    const slot = this.#slot(this.#runs++);
    this.#ring[slot] = seq;
    this.#ring[slot + 1] = seq;
  }

  /** Drops the front number; only when `length` > 0. */
  shift(): void {
    this.#length--;
    const slot = this.#head * 2;
    const first = this.#ring[slot] as number;
    if (first < (this.#ring[slot + 1] as number)) {
      this.#ring[slot] = first + 1;
      return;
    }
    this.#head = (this.#head + 1) % (this.#ring.length / 2);
    this.#runs--;
    if (this.#ring.length > 32 && this.#runs * 8 < this.#ring.length) this.#resize(this.#ring.length / 2);
  }

  /** The numbers front to back. */
  *[Symbol.iterator](): Generator<number> {
    for (let i = 0; i < this.#runs; i++) {
      const slot = this.#slot(i);
      for (let seq = this.#ring[slot] as number; seq <= (this.#ring[slot + 1] as number); seq++) yield seq;
    }
  }

  /** Keeps only the numbers `keep` accepts, in order: how stale ones are swept out. */
  filter(keep: (seq: number) => boolean): void {
    const kept = new SeqRuns();
    for (const seq of this) if (keep(seq)) kept.push(seq);
    this.#ring = kept.#ring;
    this.#head = 0;
    this.#runs = kept.#runs;
    this.#length = kept.#length;
  }

  #slot(i: number): number {
    return ((this.#head + i) % (this.#ring.length / 2)) * 2;
  }

  #resize(capacity: number): void {
    const ring = new Uint32Array(capacity);
    for (let i = 0; i < this.#runs; i++) ring.set(this.#ring.subarray(this.#slot(i), this.#slot(i) + 2), i * 2);
    this.#ring = ring;
    this.#head = 0;
  }
}
