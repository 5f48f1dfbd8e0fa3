// The events a commit tells watchers, as rows of spool_events (migrations/001-jobs.sql): written
// in the committing transaction, read by every other store on the file after it (sqlite-store.ts).
import type { JobEnd, StoreEvent } from '../contract.ts';
import { blob, bytes } from './driver.ts';
import type { Statement } from './driver.ts';

export const insertEvent =
  'INSERT INTO spool_events (origin, written_at, kind, queue, due_at, job, job_end, has_result, result) ' +
  'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)';

/** Events after a given id and not of a given origin, oldest first; the id last. */
export const selectEvents =
  'SELECT kind, queue, due_at, job, job_end, has_result, result, id FROM spool_events ' +
  'WHERE id > ? AND origin != ? ORDER BY id';

type EventRow = [StoreEvent['kind'], string, number | null, string | null, JobEnd | null, number, unknown, number];

export function writeEvents(insert: Statement, origin: string, events: readonly StoreEvent[]): void {
  const now = Date.now();
  for (const e of events) {
    if (e.kind === 'ready') insert.run(origin, now, e.kind, e.queue, null, null, null, 0, null);
    else if (e.kind === 'due') insert.run(origin, now, e.kind, e.queue, e.at, null, null, 0, null);
    else {
      const result = e.result === undefined || e.result === null ? null : bytes(e.result);
      insert.run(origin, now, e.kind, e.queue, null, e.id, e.end, e.result === undefined ? 0 : 1, result);
    }
  }
}

/** The events of rows from `selectEvents`, and the last row's id. */
export function readEvents(rows: unknown[]): { events: StoreEvent[]; last: number } {
  let last = 0;
  const events = (rows as EventRow[]).map(([kind, queue, dueAt, job, end, hasResult, result, id]): StoreEvent => {
    last = id;
    if (kind === 'ready') return { kind, queue };
    if (kind === 'due') return { kind, queue, at: dueAt as number };
    return {
      kind,
      queue,
      id: job as string,
      end: end as JobEnd,
      ...(hasResult === 1 && { result: blob(result) }),
    };
  });
  return { events, last };
}
