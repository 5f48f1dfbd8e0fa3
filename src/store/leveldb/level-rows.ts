// The row engine's rows (rows/rows.ts) for LevelDB: the rows and their orders in memory (one
// process owns the directory, and LevelDB reads ranges only asynchronously), every change also
// written as a put or a delete into the call's share of the group's atomic batch (keys.ts).
import type { JobState } from '../contract.ts';
import type { QueueRow, Row, Rows } from '../rows/rows.ts';
import {
  countersKey,
  encodeCounter,
  encodeQueue,
  encodeRow,
  jobKey,
  metaKey,
  payloadKey,
  queueKey,
  waitingKey,
} from './keys.ts';
import { dueOrder, expiryOrder, finishOrder, leaseEndOrder, leaseOrder, SortedRows } from './sorted.ts';

export type Op = { type: 'put'; key: string; value: string | Uint8Array } | { type: 'del'; key: string };

/** One queue's rows in each order the engine reads. */
export class Lines {
  readonly waiting = new SortedRows(leaseOrder);
  readonly delayed = new SortedRows(dueOrder);
  readonly active = new SortedRows(leaseEndOrder);
  readonly dead = new SortedRows(finishOrder);
  readonly completed = new SortedRows(finishOrder);
  readonly ttl = new SortedRows(expiryOrder);

  line(state: JobState): SortedRows {
    return this[state];
  }
}

export class LevelRows implements Rows {
  readonly jobs = new Map<number, Row>();
  readonly queues = new Map<string, QueueRow>();
  readonly meta = new Map<string, string>();
  readonly #lines = new Map<string, Lines>();
  readonly #keys = new Map<string, number>();
  /** Payloads of batches not written yet; the rest are read from LevelDB. */
  readonly pending = new Map<number, Uint8Array>();
  /** The last sequence number handed out. */
  seq = 0;
  /** The writes of the call running now. */
  ops: Op[] = [];

  constructor(private readonly read: (key: string) => Uint8Array | undefined) {}

  lines(queue: string): Lines {
    let lines = this.#lines.get(queue);
    if (lines === undefined) {
      lines = new Lines();
      this.#lines.set(queue, lines);
    }
    return lines;
  }

  /** Enters a row read at open into the key map and every line but `waiting` (loaded in key order). */
  load(row: Row): void {
    this.jobs.set(row.seq, row);
    if (row.key !== null) this.#keys.set(`${row.queue}\0${row.key}`, row.seq);
    const lines = this.lines(row.queue);
    if (row.state !== 'waiting') lines.line(row.state).push(row);
    if (row.expiresAt !== null) lines.ttl.push(row);
  }

  allocSeqs(count: number): number {
    const first = this.seq + 1;
    this.seq += count;
    this.ops.push({ type: 'put', key: countersKey, value: encodeCounter(this.seq) });
    return first;
  }
  job(seq: number): Row | null {
    return this.jobs.get(seq) ?? null;
  }
  byKey(queue: string, key: string): number | null {
    return this.#keys.get(`${queue}\0${key}`) ?? null;
  }
  payload(seq: number): Uint8Array {
    return this.pending.get(seq) ?? (this.read(payloadKey(seq)) as Uint8Array);
  }
  insert(row: Row, payload: Uint8Array): void {
    this.jobs.set(row.seq, row);
    if (row.key !== null) this.#keys.set(`${row.queue}\0${row.key}`, row.seq);
    const lines = this.lines(row.queue);
    lines.line(row.state).insert(row);
    if (row.expiresAt !== null) lines.ttl.insert(row);
    this.pending.set(row.seq, payload);
    this.ops.push({ type: 'put', key: jobKey(row.seq), value: encodeRow(row) });
    this.ops.push({ type: 'put', key: payloadKey(row.seq), value: payload });
    if (row.state === 'waiting') this.ops.push({ type: 'put', key: waitingKey(row), value: '' });
  }
  update(row: Row, before: Row): void {
    this.jobs.set(row.seq, row);
    const lines = this.lines(row.queue);
    if (row.state === before.state) lines.line(row.state).replace(row, before);
    else {
      lines.line(before.state).remove(before);
      lines.line(row.state).insert(row);
    }
    if (row.expiresAt !== null) lines.ttl.replace(row, before);
    this.ops.push({ type: 'put', key: jobKey(row.seq), value: encodeRow(row) });
    const [was, is] = [
      before.state === 'waiting' ? waitingKey(before) : null,
      row.state === 'waiting' ? waitingKey(row) : null,
    ];
    if (was !== is) {
      if (was !== null) this.ops.push({ type: 'del', key: was });
      if (is !== null) this.ops.push({ type: 'put', key: is, value: '' });
    }
  }
  delete(row: Row): void {
    this.jobs.delete(row.seq);
    const both = `${row.queue}\0${row.key}`;
    if (row.key !== null && this.#keys.get(both) === row.seq) this.#keys.delete(both);
    const lines = this.lines(row.queue);
    lines.line(row.state).remove(row);
    if (row.expiresAt !== null) lines.ttl.remove(row);
    this.pending.delete(row.seq);
    this.ops.push({ type: 'del', key: jobKey(row.seq) }, { type: 'del', key: payloadKey(row.seq) });
    if (row.state === 'waiting') this.ops.push({ type: 'del', key: waitingKey(row) });
  }
  deleteOldest(queue: string, state: 'dead' | 'completed', count: number): void {
    for (const row of this.inState(queue, state, count, 0)) this.delete(row);
  }
  queue(name: string): QueueRow | null {
    return this.queues.get(name) ?? null;
  }
  queueNames(): string[] {
    return [...this.queues.values()]
      .filter((q) => q.known)
      .map((q) => q.name)
      .sort();
  }
  putQueue(row: QueueRow): void {
    this.queues.set(row.name, row);
    this.ops.push({ type: 'put', key: queueKey(row.name), value: encodeQueue(row) });
  }
  waiting(queue: string, limit: number, offset = 0): Row[] {
    return this.lines(queue).waiting.slice(offset, limit);
  }
  inState(queue: string, state: Exclude<JobState, 'waiting'>, limit: number, offset: number): Row[] {
    return this.lines(queue).line(state).slice(offset, limit);
  }
  delayedDue(queue: string, now: number): Row[] {
    return this.lines(queue).delayed.while((row) => row.availableAt <= now);
  }
  leasesEnded(queue: string, now: number): Row[] {
    return this.lines(queue).active.while((row) => (row.until as number) <= now);
  }
  expired(queue: string, now: number): Row[] {
    return this.lines(queue).ttl.while((row) => (row.expiresAt as number) <= now);
  }
  nextAt(queue: string): number | null {
    const lines = this.lines(queue);
    const due = lines.delayed.at(0)?.availableAt ?? null;
    const end = lines.active.at(0)?.until ?? null;
    if (due === null) return end;
    return end === null ? due : Math.min(due, end);
  }
  nextExpiry(queue: string): number | null {
    return this.lines(queue).ttl.at(0)?.expiresAt ?? null;
  }
  getMeta(name: string): string | null {
    return this.meta.get(name) ?? null;
  }
  setMeta(name: string, value: string | null): void {
    if (value === null) {
      this.meta.delete(name);
      this.ops.push({ type: 'del', key: metaKey(name) });
    } else {
      this.meta.set(name, value);
      this.ops.push({ type: 'put', key: metaKey(name), value });
    }
  }
  listMeta(prefix: string): string[] {
    return [...this.meta.keys()].filter((name) => name.startsWith(prefix)).sort();
  }
}
