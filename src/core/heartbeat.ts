// Worker heartbeats (issue 18): each Spool that runs workers keeps one meta document,
// `worker/<spool id>`, naming its host, process and workers, rewritten every `beatMs`. A reader
// (the dashboard's Workers page, `spool.workers()`) shows a document not rewritten for
// `goneAfterMs` as gone: its process died without saying so. One write per process every few
// seconds, whatever its number of workers; the documents of processes gone for an hour are
// deleted by whichever live process beats next, so the store holds no trace of them for long.
import { hostname } from 'node:os';
import type { Store } from '../store/contract.ts';
import type { Clock } from './clock.ts';

/** How often a process with workers rewrites its document. */
export const beatMs = 5_000;
/** Not rewritten for this long: the process is gone (three missed beats). */
export const goneAfterMs = 3 * beatMs;
/** Documents of processes gone this long are deleted. */
const forgetAfterMs = 60 * 60_000;
/** Every this many beats, a live process deletes the documents of processes long gone. */
const sweepEvery = 12;

const prefix = 'worker/';

/** A running worker as its process reports it. */
export interface WorkerBeat {
  readonly queue: string;
  readonly concurrency: number;
  /** Handlers running at the last beat. */
  readonly running: number;
  /** Jobs the worker completed, and failed attempts, since it started. */
  readonly completed: number;
  readonly failed: number;
}

/** One process's workers, as the last heartbeat left them. */
export interface WorkerProcess {
  readonly id: string;
  readonly host: string;
  readonly pid: number;
  readonly startedAt: number;
  readonly beatAt: number;
  /** No beat for `goneAfterMs`: the process stopped without closing its workers. */
  readonly gone: boolean;
  readonly workers: readonly WorkerBeat[];
}

/**
 * A failed beat is not reported: the worker's own lease calls fail and report the same store
 * failure, and a missed beat only shows the process as gone until the next one.
 */
const ignore = (): void => {};

/** What a worker shows its heartbeat. */
export interface BeatSource {
  beat(): WorkerBeat;
}

/** The heartbeat of one Spool: beats while at least one worker is registered. */
export class Heartbeat {
  readonly #sources = new Set<BeatSource>();
  readonly #name: string;
  readonly #startedAt: number;
  #cancel: (() => void) | null = null;
  #beats = 0;
  /** The write on its way, so that the last worker's close waits for it before deleting the document. */
  #writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    id: string,
  ) {
    this.#name = prefix + id;
    this.#startedAt = clock.now();
  }

  register(source: BeatSource): void {
    this.#sources.add(source);
    if (this.#sources.size === 1) this.#beat();
  }

  /** The worker closed: the last one out deletes the document, so a clean stop leaves nothing behind. */
  async unregister(source: BeatSource): Promise<void> {
    if (!this.#sources.delete(source) || this.#sources.size > 0) return;
    this.#cancel?.();
    this.#cancel = null;
    await this.#writing;
    await this.store.setMeta({ now: this.clock.now(), entries: { [this.#name]: null } }).catch(ignore);
  }

  #beat(): void {
    const now = this.clock.now();
    const doc: Omit<WorkerProcess, 'id' | 'gone'> = {
      host: hostname(),
      pid: process.pid,
      startedAt: this.#startedAt,
      beatAt: now,
      workers: [...this.#sources].map((s) => s.beat()),
    };
    const sweep = this.#beats++ % sweepEvery === 0;
    this.#writing = this.store
      .setMeta({ now, entries: { [this.#name]: JSON.stringify(doc) } })
      .then(() => (sweep ? this.#sweep(now) : undefined))
      .catch(ignore);
    this.#cancel = this.clock.setTimer(beatMs, () => this.#beat());
  }

  async #sweep(now: number): Promise<void> {
    const old = (await workerProcesses(this.store, now)).filter((p) => now - p.beatAt > forgetAfterMs);
    if (old.length > 0)
      await this.store.setMeta({ now, entries: Object.fromEntries(old.map((p) => [prefix + p.id, null])) });
  }
}

/** Every process whose heartbeat document is in the store, live ones first, then by host and pid. */
export async function workerProcesses(store: Store, now: number): Promise<WorkerProcess[]> {
  const names = await store.listMeta({ now, prefix });
  const docs = await store.getMeta({ now, names });
  const out: WorkerProcess[] = [];
  docs.forEach((doc, i) => {
    if (doc === null) return;
    const beat = JSON.parse(doc) as Omit<WorkerProcess, 'id' | 'gone'>;
    const id = (names[i] as string).slice(prefix.length);
    out.push({ id, ...beat, gone: now - beat.beatAt > goneAfterMs });
  });
  return out.sort(
    (a, b) =>
      Number(a.gone) - Number(b.gone) || a.host.localeCompare(b.host) || a.pid - b.pid || a.id.localeCompare(b.id),
  );
}
