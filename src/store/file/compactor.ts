// The file store's background duties: which segments hold live payloads, checkpoints (when a
// segment fills, soon after one drains, on demand), the deletion of segments that neither a kept
// checkpoint nor a job needs, and compaction, which copies the few live payloads out of sparse
// old segments so that they can go too.
import { CorruptionError, StorageError } from '../../errors.ts';
import type { JobTable } from '../memory/job-table.ts';
import { ByteWriter } from './bytes.ts';
import { checkpointFiles, checkpointSegment, encodeCheckpoint, writeCheckpoint } from './checkpoint.ts';
import type { FileIO } from './io.ts';
import { segmentOf } from './log.ts';
import type { Log } from './log.ts';
import { encodeMove, recordKinds } from './records.ts';

/** Live payload bytes below this share of what a sealed segment held make compaction move them out. */
const compactBelow = 0.5;
/** Payload bytes one compaction step moves before it lets the commit path run. */
const compactStepBytes = 1 << 20;
/** How soon a drained segment's space is freed: the next checkpoint deletes it. */
const collectDelayMs = 200;

interface Live {
  jobs: number;
  bytes: number;
  /** Payload bytes the segment ever held for the table: live ones against these say how sparse it is. */
  held: number;
}

export class Compactor {
  readonly #live = new Map<number, Live>();
  readonly #writer = new ByteWriter(1 << 16);
  #log: Log | null = null;
  #stopped = false;
  /** The checkpoint running or last run: checkpoints go one at a time. */
  #checkpoints: Promise<void> = Promise.resolve();
  /** A checkpoint asked for and not started yet: asking again joins it. */
  #queued: Promise<void> | null = null;
  #collectTimer: NodeJS.Timeout | null = null;
  /** Segments the kept checkpoints start in: nothing before the smallest is needed for replay. */
  #checkpointStarts: number[] = [];

  constructor(
    private readonly io: FileIO,
    private readonly dir: string,
    private readonly table: JobTable,
  ) {}

  /** Counts `jobs` payloads of `size` bytes in all, in the segment of log position `at`, as live: the segment stays. */
  hold(at: number, size: number, jobs = 1): void {
    const segment = segmentOf(at);
    const live = this.#live.get(segment);
    if (live === undefined) this.#live.set(segment, { jobs, bytes: size, held: size });
    else {
      live.jobs += jobs;
      live.bytes += size;
      live.held += size;
    }
  }

  release(at: number, size: number): void {
    const segment = segmentOf(at);
    const live = this.#live.get(segment);
    if (live === undefined) return;
    live.jobs--;
    live.bytes -= size;
    if (live.jobs > 0) return;
    this.#live.delete(segment);
    // A drained segment frees its space at the next checkpoint; do not wait for the log to fill.
    if (this.#log !== null && !this.#stopped && this.#collectTimer === null) {
      this.#collectTimer = setTimeout(() => {
        this.#collectTimer = null;
        this.#schedule();
      }, collectDelayMs);
      this.#collectTimer.unref();
    }
  }

  /** The segments live jobs have payloads in, with how many jobs each. */
  needed(): Map<number, number> {
    return new Map([...this.#live].map(([segment, { jobs }]) => [segment, jobs]));
  }

  /** Starts the duties once the log is open: a new segment or a drained one brings a checkpoint. */
  start(log: Log): void {
    this.#log = log;
    this.#checkpointStarts = checkpointFiles(this.io, this.dir).slice(0, 2).map(checkpointSegment);
    log.rotated = () => this.#schedule();
  }

  /** Nothing more is scheduled and compaction stops; `checkpoint()` still writes one (a close's). */
  stop(): void {
    this.#stopped = true;
    if (this.#collectTimer !== null) clearTimeout(this.#collectTimer);
    this.#collectTimer = null;
  }

  /** Writes a checkpoint after the one running, then deletes the segments no checkpoint or job needs. */
  checkpoint(): Promise<void> {
    if (this.#queued === null) {
      const queued = this.#checkpoints.then(() => {
        this.#queued = null;
        return this.#write();
      });
      this.#queued = queued;
      this.#checkpoints = queued.catch(() => {});
    }
    return this.#queued;
  }

  #schedule(): void {
    // Best effort: a failure here is the log's, and every later call reports it.
    setImmediate(() => {
      if (!this.#stopped) this.checkpoint().catch(() => {});
    });
  }

  async #write(): Promise<void> {
    const log = this.#log as Log;
    const position = log.tail;
    const bytes = encodeCheckpoint(position, this.table.image(), log.ends(position));
    // Only segments no job of this image needs may go: a call that releases a job while the
    // checkpoint is written is not durable yet, and after a crash the image has the job again.
    const unneeded = log.segments.filter((s) => !this.#live.has(s));
    // The checkpoint stands for everything before `position`: that must be on disk first.
    await log.sync();
    // A failed write or sync of a checkpoint is as fatal as one of the log (fsyncgate): the disk
    // is failing, and nothing may be answered as durable on it until a reopen checks it again.
    await writeCheckpoint(this.io, this.dir, bytes, position).catch((error: unknown) => {
      // Out of descriptors, nothing of this checkpoint is in place: it is skipped, the log is
      // whole, and a later one will do (issue 20, defect 4).
      const code = ((error as { cause?: NodeJS.ErrnoException }).cause ?? (error as NodeJS.ErrnoException)).code;
      if (code === 'EMFILE' || code === 'ENFILE')
        throw new StorageError(`checkpoint skipped: ${(error as Error).message}`, { cause: error });
      throw log.fail(error);
    });
    this.#checkpointStarts = checkpointFiles(this.io, this.dir).slice(0, 2).map(checkpointSegment);
    const needed = Math.min(...this.#checkpointStarts);
    const tail = position.segment;
    await log.remove(unneeded.filter((s) => s < needed && s < tail));
    if (!this.#stopped) await this.#compact(log, tail);
  }

  /** Moves the live payloads out of sealed segments that are mostly dead, a step at a time. */
  async #compact(log: Log, before: number): Promise<void> {
    const sparse = [...this.#live]
      .filter(([segment, live]) => segment < before && live.bytes < live.held * compactBelow)
      .map(([segment]) => segment);
    if (sparse.length === 0) return;
    const ids = this.table.jobsWhere((at) => sparse.includes(segmentOf(at)));
    let moved = 0;
    for (let i = 0; i < ids.length && !this.#stopped;) {
      const batch: { id: string; payload: Uint8Array }[] = [];
      for (let bytes = 0; i < ids.length && bytes < compactStepBytes; i++) {
        const id = ids[i] as string;
        const payload = this.#payloadToMove(id); // null: it went since the list was made
        if (payload === null) continue;
        batch.push({ id, payload });
        bytes += payload.byteLength;
      }
      if (batch.length === 0) continue;
      const payloadAt = encodeMove(this.#writer, batch);
      const body = this.#writer.view();
      const at = log.append(recordKinds.move, body.length, (out, offset) => body.copy(out, offset));
      batch.forEach(({ id }, k) => this.relocate(id, at + (payloadAt[k] as number)));
      moved += batch.length;
      // Let the commit path run between steps.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    if (moved > 0 && !this.#stopped) this.#schedule();
  }

  /** Points a job at its payload's copy at `at`, as a move record says (written now or replayed). */
  relocate(id: string, at: number): void {
    const size = this.table.relocate(id, at);
    if (size >= 0) this.hold(at, size);
  }

  /** A job's payload for compaction; null when the job is gone or the payload is damaged (a lease kills it). */
  #payloadToMove(id: string): Uint8Array | null {
    try {
      return this.table.payloadOf(id);
    } catch (error) {
      if (error instanceof CorruptionError) return null;
      throw error;
    }
  }
}
