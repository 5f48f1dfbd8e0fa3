// Worker heartbeats (issue 18): each Spool that runs workers announces itself (presence.ts, kind
// `worker`) with its host, process and workers, renewed every `renewMs` while it has a worker. A
// reader (the dashboard's Workers page, `spool.workers()`) shows an announcement not renewed for
// three renewals as gone: its process died without saying so. One write per process every few
// seconds, whatever its number of workers; processes gone for an hour are forgotten by the next
// reader, so the store holds no trace of them for long. A process whose workers run over HTTP
// (spool/client) beats to the server, which posts its beats to the store for it (`postBeat`).
import { hostname } from 'node:os';
import type { Store } from '../store/contract.ts';
import type { Clock } from './clock.ts';
import { Announcement, post, present } from './presence.ts';
import type { Board } from './presence.ts';

/** Gone this long: the process's announcement is deleted. */
const forgetAfterMs = 60 * 60_000;
export const beatKind = 'worker';

/** A running worker as its process reports it. */
export interface WorkerBeat {
  readonly queue: string;
  readonly concurrency: number;
  /** Handlers running at the last beat. */
  readonly running: number;
  /**
   * Jobs leased ahead of a free handler (`prefetch`) at the last beat: active in the store, held
   * by this worker, not started yet.
   */
  readonly prefetched: number;
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
  /** No beat for three beats: the process stopped without closing its workers. */
  readonly gone: boolean;
  readonly workers: readonly WorkerBeat[];
  /** The server whose store calls the workers make, when they run over HTTP (spool/client). */
  readonly via?: { readonly host: string; readonly pid: number };
}

/** What one beat of a process says. */
export type ProcessBeat = Pick<WorkerProcess, 'host' | 'pid' | 'startedAt' | 'workers' | 'via'>;

/** What a worker shows its heartbeat. */
export interface BeatSource {
  beat(): WorkerBeat;
}

/**
 * The heartbeat of one process's workers (a Spool's, or a spool/client's), posted on `board`:
 * announced while at least one worker is registered.
 */
export class Heartbeat {
  readonly #sources = new Set<BeatSource>();
  readonly #announcement: Announcement;

  constructor(clock: Clock, board: Board) {
    const startedAt = clock.now();
    const info = (): ProcessBeat => ({
      host: hostname(),
      pid: process.pid,
      startedAt,
      workers: [...this.#sources].map((s) => s.beat()),
    });
    this.#announcement = new Announcement(clock, board, info);
  }

  register(source: BeatSource): void {
    this.#sources.add(source);
    // A failed first beat is not reported: the worker's own lease calls report the same failure,
    // and the next beat tries again.
    if (this.#sources.size === 1) this.#announcement.start().catch(() => {});
  }

  /** The worker closed: the last one out withdraws the announcement, so a clean stop leaves nothing behind. */
  async unregister(source: BeatSource): Promise<void> {
    if (!this.#sources.delete(source) || this.#sources.size > 0) return;
    await this.#announcement.stop().catch(() => {});
  }
}

/** Posts the beat of process `id` as seen at `now`; `null` withdraws it. */
export const postBeat = (store: Store, now: number, id: string, beat: ProcessBeat | null): Promise<void> =>
  post(store, now, beatKind, id, beat);

/** Every process whose heartbeat is in the store, live ones first, then by host and pid. */
export async function workerProcesses(store: Store, now: number): Promise<WorkerProcess[]> {
  const beats = await present<ProcessBeat>(store, now, beatKind, forgetAfterMs);
  return beats
    .map(({ id, info, seenAt, gone }) => ({ id, ...info, beatAt: seenAt, gone }))
    .sort(
      (a, b) =>
        Number(a.gone) - Number(b.gone) || a.host.localeCompare(b.host) || a.pid - b.pid || a.id.localeCompare(b.id),
    );
}
