// The events a commit tells watchers, as one row of spool_events (migrations/002-event-batches.sql)
// a commit: written in the committing transaction, read by every other store on the file after
// it (sqlite-store.ts). The row holds the events in the JSON form that migration's header
// documents, written and read only here.
import type { ChangeEvent, JobEnd } from '../contract.ts';
import type { Statement } from './driver.ts';

export const insertEvents = 'INSERT INTO spool_events (origin, written_at, events) VALUES (?, ?, ?)';

/**
 * Event rows after a given id, oldest first: the events (null in a row of the given origin, a
 * store's own), then the id. Every row, so a reader sees when rows it had not read were pruned.
 */
export const selectEvents =
  'SELECT CASE WHEN origin = ? THEN NULL ELSE events END, id FROM spool_events WHERE id > ? ORDER BY id';

type Encoded =
  | ['ready', string]
  | ['due', string, number]
  | ['ended', string, string, JobEnd]
  | ['ended', string, string, JobEnd, string | null];

/** Writes `events` as one row; nothing for none. */
export function writeEvents(insert: Statement, origin: string, events: readonly ChangeEvent[]): void {
  if (events.length === 0) return;
  insert.run(origin, Date.now(), JSON.stringify(events.map(encode)));
}

function encode(e: ChangeEvent): Encoded {
  if (e.kind === 'ready') return ['ready', e.queue];
  if (e.kind === 'due') return ['due', e.queue, e.at];
  if (e.result === undefined) return ['ended', e.queue, e.id, e.end];
  return ['ended', e.queue, e.id, e.end, e.result === null ? null : Buffer.from(e.result).toString('base64')];
}

/** The events of rows from `selectEvents`, and the first and last rows' ids. */
export function readEvents(rows: unknown[]): { events: ChangeEvent[]; first: number; last: number } {
  let last = 0;
  const events: ChangeEvent[] = [];
  for (const [text, id] of rows as [string | null, number][]) {
    last = id;
    if (text !== null) for (const e of JSON.parse(text) as Encoded[]) events.push(decode(e));
  }
  return { events, first: (rows[0] as [unknown, number] | undefined)?.[1] ?? 0, last };
}

function decode(e: Encoded): ChangeEvent {
  switch (e[0]) {
    case 'ready':
      return { kind: 'ready', queue: e[1] };
    case 'due':
      return { kind: 'due', queue: e[1], at: e[2] };
    case 'ended': {
      const [, queue, id, end] = e;
      if (e.length === 4) return { kind: 'ended', queue, id, end };
      const result = e[4] === null ? null : new Uint8Array(Buffer.from(e[4], 'base64'));
      return { kind: 'ended', queue, id, end, result };
    }
  }
}
