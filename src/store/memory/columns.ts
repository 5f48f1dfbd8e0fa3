// The job table's storage: one row per job in typed-array columns, in pages of 1,024 rows
// addressed by the job's sequence number, so a job costs about 60 bytes and no object. A page
// goes when its last job does. Rarely used fields (keys, errors, results, payloads held in
// memory) sit in maps beside the columns.
import type { Backoff, JobState } from '../contract.ts';

export const gone = 0;
export const stateCode: Readonly<Record<JobState, number>> = {
  waiting: 1,
  delayed: 2,
  active: 3,
  dead: 4,
  completed: 5,
};
export const stateName: readonly (JobState | 'gone')[] = ['gone', 'waiting', 'delayed', 'active', 'dead', 'completed'];

const pageBits = 10;
const pageSize = 1 << pageBits;
const mask = pageSize - 1;
/** Sequence numbers are stored as u32: a store hands out at most this many jobs in its life. */
export const maxSeq = 0xffffffff;

/** The per-job settings most jobs of a queue share, stored once. */
export interface Profile {
  readonly maxAttempts: number;
  readonly visibilityMs: number;
  readonly backoff: Backoff;
}

class Page {
  live = 0;
  readonly queue = new Uint32Array(pageSize);
  readonly state = new Uint8Array(pageSize);
  readonly priority = new Float64Array(pageSize);
  readonly attempts = new Uint32Array(pageSize);
  /** Saturates at 65,535: a count for people, not a fence. */
  readonly nacks = new Uint16Array(pageSize);
  readonly profile = new Uint32Array(pageSize);
  readonly createdAt = new Float64Array(pageSize);
  /** When it becomes (or became) leasable: also its place in line after priority. */
  readonly availableAt = new Float64Array(pageSize);
  /** NaN for none. */
  readonly expiresAt = new Float64Array(pageSize);
  /** The lease end while active, when it finished while dead or completed, else NaN. */
  readonly until = new Float64Array(pageSize);
  /** Where the log keeps the payload, or -1 when it is in `payloads`. */
  readonly at = new Float64Array(pageSize);
  readonly size = new Uint32Array(pageSize);
}

export class Columns {
  #pages: (Page | undefined)[] = [];
  /** The page number of `#pages[0]`. */
  #base = 0;
  readonly keys = new Map<number, string>();
  readonly errors = new Map<number, string[]>();
  readonly results = new Map<number, Uint8Array>();
  readonly payloads = new Map<number, Uint8Array>();
  readonly #profiles: Profile[] = [];
  readonly #profileIds = new Map<string, number>();

  /** The page holding `seq`; only for a job that exists. */
  page(seq: number): Page {
    return this.#pages[Math.floor(seq / pageSize) - this.#base] as Page;
  }

  row(seq: number): number {
    return seq & mask;
  }

  state(seq: number): number {
    const page = this.#pages[Math.floor(seq / pageSize) - this.#base];
    return page === undefined ? gone : (page.state[seq & mask] as number);
  }

  /** Makes the row for a new job; its columns are then set by the caller. */
  create(seq: number): Page {
    const n = Math.floor(seq / pageSize);
    if (this.#pages.length === 0) this.#base = n;
    let page = this.#pages[n - this.#base];
    if (page === undefined) {
      page = new Page();
      this.#pages[n - this.#base] = page;
    }
    page.live++;
    return page;
  }

  /** Forgets a job: its row, its side fields, and its page once that is empty. */
  free(seq: number): void {
    const n = Math.floor(seq / pageSize);
    const page = this.#pages[n - this.#base] as Page;
    page.state[seq & mask] = gone;
    this.keys.delete(seq);
    this.errors.delete(seq);
    this.results.delete(seq);
    this.payloads.delete(seq);
    if (--page.live > 0) return;
    this.#pages[n - this.#base] = undefined;
    let drop = 0;
    while (drop < this.#pages.length && this.#pages[drop] === undefined) drop++;
    if (drop > 0) {
      this.#pages.splice(0, drop);
      this.#base += drop;
    }
  }

  /** Sequence numbers of every job, in order. */
  *seqs(): Generator<number> {
    for (let p = 0; p < this.#pages.length; p++) {
      const page = this.#pages[p];
      if (page === undefined) continue;
      const first = (this.#base + p) * pageSize;
      for (let row = 0; row < pageSize; row++) if (page.state[row] !== gone) yield first + row;
    }
  }

  profileId(profile: Profile): number {
    const { maxAttempts, visibilityMs, backoff } = profile;
    const key = `${maxAttempts}|${visibilityMs}|${backoff.kind}|${backoff.delayMs}|${backoff.maxDelayMs}|${backoff.jitter}`;
    let id = this.#profileIds.get(key);
    if (id === undefined) {
      id = this.#profiles.length;
      this.#profiles.push(profile);
      this.#profileIds.set(key, id);
    }
    return id;
  }

  profile(seq: number): Profile {
    const page = this.page(seq);
    return this.#profiles[page.profile[seq & mask] as number] as Profile;
  }
}
