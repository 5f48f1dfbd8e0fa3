/**
 * A first-in first-out line of sequence numbers kept as runs of consecutive ones, each its first
 * number (u32) and how many more follow (u8), in a ring: jobs added one after another to one
 * queue, the common case, cost 5 bytes per 256 of them; a lone number costs 5 (issue 4). Numbers
 * leave only from the front, so every number between the front and the back was pushed and has
 * not been taken yet.
 */
export class SeqRuns {
  #first = new Uint32Array(16);
  #more = new Uint8Array(16);
  /** The front run's slot; `#runs` of them follow, wrapping around. */
  #head = 0;
  #runs = 0;
  #length = 0;

  /** How many numbers it holds. */
  get length(): number {
    return this.#length;
  }

  /** How many runs it keeps: what it costs, 5 bytes each. */
  get runs(): number {
    return this.#runs;
  }

  /** The front number; only when `length` > 0. */
  get front(): number {
    return this.#first[this.#head] as number;
  }

  push(seq: number): void {
    this.#length++;
    if (this.#runs > 0) {
      const back = this.#slot(this.#runs - 1);
      const more = this.#more[back] as number;
      if (more < 0xff && (this.#first[back] as number) + more + 1 === seq) {
        this.#more[back] = more + 1;
        return;
      }
    }
    // Grows by half, not double: at a million lone numbers the slack is what a job costs.
    if (this.#runs === this.#first.length) this.#resize(Math.ceil(this.#runs * 1.5));
    const slot = this.#slot(this.#runs++);
    this.#first[slot] = seq;
    this.#more[slot] = 0;
  }

  /** Drops the front number; only when `length` > 0. */
  shift(): void {
    this.#length--;
    const head = this.#head;
    const more = this.#more[head] as number;
    if (more > 0) {
      this.#first[head] = (this.#first[head] as number) + 1;
      this.#more[head] = more - 1;
      return;
    }
    this.#head = (head + 1) % this.#first.length;
    this.#runs--;
    if (this.#first.length > 64 && this.#runs * 4 < this.#first.length) this.#resize(this.#runs * 2);
  }

  /** The numbers front to back. */
  *[Symbol.iterator](): Generator<number> {
    for (let i = 0; i < this.#runs; i++) {
      const slot = this.#slot(i);
      const first = this.#first[slot] as number;
      for (let seq = first; seq <= first + (this.#more[slot] as number); seq++) yield seq;
    }
  }

  /**
   * Hands `take` the runs front to back (each `from` to `to`, consecutive numbers) until `enough`
   * says so: a run at a time rather than a number at a time through the iterator, so a listing
   * deep into a million waiting jobs walks runs, not numbers (issue 18).
   */
  eachRun(take: (from: number, to: number) => void, enough: () => boolean): void {
    const size = this.#first.length;
    for (let i = 0, slot = this.#head; i < this.#runs && !enough(); i++, slot = slot + 1 === size ? 0 : slot + 1) {
      const from = this.#first[slot] as number;
      take(from, from + (this.#more[slot] as number));
    }
  }

  /** Keeps only the numbers `keep` accepts, in order: how stale ones are swept out. */
  filter(keep: (seq: number) => boolean): void {
    const kept = new SeqRuns();
    for (const seq of this) if (keep(seq)) kept.push(seq);
    this.#first = kept.#first;
    this.#more = kept.#more;
    this.#head = 0;
    this.#runs = kept.#runs;
    this.#length = kept.#length;
  }

  #slot(i: number): number {
    return (this.#head + i) % this.#first.length;
  }

  #resize(capacity: number): void {
    const first = new Uint32Array(Math.max(16, capacity));
    const more = new Uint8Array(first.length);
    for (let i = 0; i < this.#runs; i++) {
      first[i] = this.#first[this.#slot(i)] as number;
      more[i] = this.#more[this.#slot(i)] as number;
    }
    this.#first = first;
    this.#more = more;
    this.#head = 0;
  }
}
