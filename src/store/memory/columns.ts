// The job table's storage: one row per job in columns, in pages of 1,024 rows addressed by the
// job's sequence number, and no object per job. Each column of a page is one value until its rows
// differ, then the narrowest typed array that holds them (column.ts): a page of jobs added alike
// costs little more than their payload positions. A page goes when its last job does. Rarely used
// fields (keys, errors, results) sit in maps beside the columns; payloads held in memory in an
// array of the page, made with its first one.
import type { Backoff, JobState } from '../contract.ts';
import { Column } from './column.ts';
import type { ColumnImage } from './column.ts';

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
/** Where `collectInState` puts what it finds: past the first `skip`, into `out` up to `limit`. */
export interface Sink {
  skip: number;
  readonly out: number[];
  readonly limit: number;
}

/** A job's row in its page. */
export const rowOf = (seq: number): number => seq & (pageSize - 1);
/** Sequence numbers are stored as u32: a store hands out at most this many jobs in its life. */
export const maxSeq = 0xffffffff;

/** The per-job settings most jobs of a queue share, stored once. */
export interface Profile {
  readonly maxAttempts: number;
  readonly visibilityMs: number;
  readonly backoff: Backoff;
}

/** The columns of a page, in the order a checkpoint writes them. */
export const columnNames = [
  'queue',
  'state',
  'priority',
  'attempts',
  'nacks',
  'profile',
  'createdAt',
  'availableAt',
  'expiresAt',
  'until',
  'at',
  'size',
] as const;

export type ColumnName = (typeof columnNames)[number];

export const rowsPerPage = pageSize;

export class Page {
  live = 0;
  readonly queue: Column;
  readonly state: Column;
  readonly priority: Column;
  readonly attempts: Column;
  /** Saturates at 65,535: a count for people, not a fence. */
  readonly nacks: Column;
  readonly profile: Column;
  readonly createdAt: Column;
  /** When it becomes (or became) leasable: also its place in line after priority. */
  readonly availableAt: Column;
  /** NaN for none. */
  readonly expiresAt: Column;
  /** The lease end while active, when it finished while dead or completed, else NaN. */
  readonly until: Column;
  /** Where the log keeps the payload, or -1 when it is in `payloads`. */
  readonly at: Column;
  readonly size: Column;
  /**
   * The payloads held in memory (`at` -1), by row; null until the page has one. An array of the
   * page, not a map by sequence number: a map's set, and its rehashes as jobs come and go, were
   * the memory store's costliest step of an add (issue 17).
   */
  payloads: (Uint8Array | undefined)[] | null = null;

  /** A new empty page, or one from a checkpoint's image of its columns. */
  constructor(from?: Readonly<Record<ColumnName, ColumnImage>>) {
    const make = (name: ColumnName): Column => new Column(pageSize, from?.[name]);
    this.queue = make('queue');
    this.state = make('state');
    this.priority = make('priority');
    this.attempts = make('attempts');
    this.nacks = make('nacks');
    this.profile = make('profile');
    this.createdAt = make('createdAt');
    this.availableAt = make('availableAt');
    this.expiresAt = make('expiresAt');
    this.until = make('until');
    this.at = make('at');
    this.size = make('size');
    // A fresh column takes its first value for every row: this makes every row of a new page gone.
    if (from === undefined) this.state.set(0, gone);
    if (from !== undefined) for (let row = 0; row < pageSize; row++) if (this.state.get(row) !== gone) this.live++;
  }
}

export class Columns {
  #pages: (Page | undefined)[] = [];
  /** The page number of `#pages[0]`. */
  #base = 0;
  readonly keys = new Map<number, string>();
  readonly errors = new Map<number, string[]>();
  readonly results = new Map<number, Uint8Array>();
  readonly #profiles: Profile[] = [];
  readonly #profileIds = new Map<string, number>();
  #lastProfile = 0;

  /** The page holding `seq`; only for a job that exists. */
  page(seq: number): Page {
    return this.#pages[Math.floor(seq / pageSize) - this.#base] as Page;
  }

  state(seq: number): number {
    const page = this.#pages[Math.floor(seq / pageSize) - this.#base];
    return page === undefined ? gone : page.state.get(rowOf(seq));
  }

  /**
   * Feeds `sink` the numbers from `from` to `to` whose job is in `state`: it passes over the first
   * `skip` of them and keeps the rest until it holds `limit`. A page whose jobs all share one
   * state is taken or passed over whole (issue 18: a listing deep into a million waiting jobs
   * read every job's state, ~200 ms a page).
   */
  collectInState(from: number, to: number, state: number, sink: Sink): void {
    const { out } = sink;
    for (let seq = from; seq <= to && out.length < sink.limit;) {
      const n = Math.floor(seq / pageSize);
      const end = Math.min(to, (n + 1) * pageSize - 1);
      const page = this.#pages[n - this.#base];
      const uniform = page === undefined ? gone : page.state.uniform();
      if (uniform !== null) {
        if (uniform === state) {
          const passed = Math.min(sink.skip, end - seq + 1);
          sink.skip -= passed;
          for (seq += passed; seq <= end && out.length < sink.limit; seq++) out.push(seq);
        }
        seq = end + 1;
        continue;
      }
      const column = (page as Page).state;
      for (; seq <= end && out.length < sink.limit; seq++)
        if (column.get(rowOf(seq)) === state) {
          if (sink.skip > 0) sink.skip--;
          else out.push(seq);
        }
    }
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
    page.state.set(rowOf(seq), gone);
    this.keys.delete(seq);
    this.errors.delete(seq);
    this.results.delete(seq);
    if (page.payloads !== null) page.payloads[rowOf(seq)] = undefined;
    if (--page.live > 0) return;
    this.#pages[n - this.#base] = undefined;
    let drop = 0;
    while (drop < this.#pages.length && this.#pages[drop] === undefined) drop++;
    if (drop > 0) {
      this.#pages.splice(0, drop);
      this.#base += drop;
    }
  }

  /** Keeps job `seq`'s payload in memory; its row exists. */
  setPayload(seq: number, payload: Uint8Array): void {
    const page = this.page(seq);
    (page.payloads ??= new Array<Uint8Array | undefined>(pageSize))[rowOf(seq)] = payload;
  }

  /** The payload kept in memory for job `seq`; undefined when it has none. */
  payload(seq: number): Uint8Array | undefined {
    return this.page(seq).payloads?.[rowOf(seq)];
  }

  /** Every payload kept in memory, by sequence number in rising order: for a checkpoint. */
  payloads(): [number, Uint8Array][] {
    const out: [number, Uint8Array][] = [];
    for (const { number, page } of this.pages())
      page.payloads?.forEach((payload, row) => {
        if (payload !== undefined) out.push([number * pageSize + row, payload]);
      });
    return out;
  }

  /** Calls `visit` with every job, in order of sequence number, with its page and row. */
  forEach(visit: (seq: number, page: Page, row: number) => void): void {
    for (let p = 0; p < this.#pages.length; p++) {
      const page = this.#pages[p];
      if (page === undefined) continue;
      const first = (this.#base + p) * pageSize;
      for (let row = 0; row < pageSize; row++) if (page.state.get(row) !== gone) visit(first + row, page, row);
    }
  }

  /** The pages with their numbers, for a checkpoint; shared, so encode them before the next change. */
  pages(): { number: number; page: Page }[] {
    const out: { number: number; page: Page }[] = [];
    this.#pages.forEach((page, i) => {
      if (page !== undefined) out.push({ number: this.#base + i, page });
    });
    return out;
  }

  /** Puts a page from a checkpoint in place; pages come in rising order. */
  loadPage(number: number, page: Page): void {
    if (this.#pages.length === 0) this.#base = number;
    this.#pages[number - this.#base] = page;
  }

  /** The profiles by id, for a checkpoint. */
  get profiles(): readonly Profile[] {
    return this.#profiles;
  }

  profileId(profile: Profile): number {
    const { maxAttempts, visibilityMs, backoff } = profile;
    // Jobs come in runs with the same settings: skip building the key for a repeat.
    const last = this.#profiles[this.#lastProfile];
    if (
      last !== undefined &&
      last.maxAttempts === maxAttempts &&
      last.visibilityMs === visibilityMs &&
      (last.backoff === backoff ||
        (last.backoff.kind === backoff.kind &&
          last.backoff.delayMs === backoff.delayMs &&
          last.backoff.maxDelayMs === backoff.maxDelayMs &&
          last.backoff.jitter === backoff.jitter))
    )
      return this.#lastProfile;
    const key = `${maxAttempts}|${visibilityMs}|${backoff.kind}|${backoff.delayMs}|${backoff.maxDelayMs}|${backoff.jitter}`;
    let id = this.#profileIds.get(key);
    if (id === undefined) {
      id = this.#profiles.length;
      this.#profiles.push(profile);
      this.#profileIds.set(key, id);
    }
    this.#lastProfile = id;
    return id;
  }

  profile(seq: number): Profile {
    const page = this.page(seq);
    return this.#profiles[page.profile.get(rowOf(seq))] as Profile;
  }
}
