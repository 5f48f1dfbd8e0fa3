// The bodies of log records: adds and moves in a binary layout (they carry payloads, and a
// replay reads them without parsing JSON), every other call as JSON.
import type {
  AckParams,
  AddParams,
  ConfigureParams,
  ExtendParams,
  LeaseParams,
  NackParams,
  NewJob,
  RemoveParams,
} from '../contract.ts';
import type { ByteWriter } from './bytes.ts';
import { ByteReader } from './bytes.ts';

export type Operation =
  | { op: 'lease'; params: LeaseParams }
  | { op: 'ack'; params: AckParams }
  | { op: 'nack'; params: NackParams }
  | { op: 'extend'; params: ExtendParams }
  | { op: 'remove'; params: RemoveParams }
  | { op: 'retryDead'; params: { queue: string; ids: readonly string[] | null; now: number } }
  | { op: 'purge'; params: { queue: string; now: number } }
  /** Written before issue 14 (stored settings); replayed as a configure of `paused`. */
  | { op: 'setPaused'; params: { queue: string; paused: boolean; now: number } }
  | { op: 'configure'; params: ConfigureParams }
  | { op: 'setMeta'; params: Readonly<Record<string, string | null>> };

/** An add, as logged: the call and the id its first new job gets. */
export interface LoggedAdd {
  readonly seq: number;
  readonly params: AddParams;
  /** Offset of each job's payload in the body. */
  readonly payloadAt: readonly number[];
}

/**
 * Encodes an add into `out` (reset first); returns where each payload starts in the body. On
 * replay the payloads stay in the log: `decodeAdd` hands back their offsets, not copies.
 */
export function encodeAdd(out: ByteWriter, seq: number, { now, jobs }: AddParams): number[] {
  out.reset();
  out.f64(seq);
  out.f64(now);
  // Where adds before issue 14 carried their per-call length limits; the store keeps them now.
  out.str('{}');
  out.u32(jobs.length);
  const payloadAt: number[] = [];
  for (const job of jobs) {
    out.str(job.queue);
    out.f64(job.priority);
    out.f64(job.maxAttempts);
    out.f64(job.availableAt);
    out.maybe(job.expiresAt);
    out.f64(job.visibilityMs);
    out.u8(job.backoff.kind === 'fixed' ? 0 : 1);
    out.f64(job.backoff.delayMs);
    out.f64(job.backoff.maxDelayMs);
    out.f64(job.backoff.jitter);
    out.maybeStr(job.key);
    out.u32(job.payload.byteLength);
    payloadAt.push(out.length);
    out.raw(job.payload);
  }
  return payloadAt;
}

export function decodeAdd(body: Buffer): LoggedAdd {
  const r = new ByteReader(body);
  const seq = r.f64();
  const now = r.f64();
  r.str(); // the per-call length limits of adds before issue 14: a logged add was within them
  const count = r.u32();
  const jobs: NewJob[] = [];
  const payloadAt: number[] = [];
  for (let i = 0; i < count; i++) {
    const queue = r.str();
    const priority = r.f64();
    const maxAttempts = r.f64();
    const availableAt = r.f64();
    const expiresAt = r.maybe();
    const visibilityMs = r.f64();
    const kind = r.u8() === 0 ? 'fixed' : 'exponential';
    const backoff = { kind, delayMs: r.f64(), maxDelayMs: r.f64(), jitter: r.f64() } as const;
    const key = r.maybeStr();
    const payloadStart = r.at + 4;
    const payload = r.bytes();
    payloadAt.push(payloadStart);
    jobs.push({ queue, priority, maxAttempts, availableAt, expiresAt, visibilityMs, backoff, key, payload });
  }
  return { seq, params: { now, jobs }, payloadAt };
}

// Leases and acks are most of the log under load: a binary layout, no JSON.

export function encodeLease(out: ByteWriter, { now, queues, max, visibilityMs }: LeaseParams): void {
  out.reset();
  out.f64(now);
  out.u32(max);
  out.maybe(visibilityMs);
  out.u32(queues.length);
  for (const queue of queues) out.str(queue);
}

export function decodeLease(body: Buffer): LeaseParams {
  const r = new ByteReader(body);
  const now = r.f64();
  const max = r.u32();
  const visibilityMs = r.maybe();
  const queues = Array.from({ length: r.u32() }, () => r.str());
  return { now, max, visibilityMs, queues };
}

export function encodeAck(out: ByteWriter, { now, items }: AckParams): void {
  out.reset();
  out.f64(now);
  out.u32(items.length);
  for (const { token, result } of items) {
    out.str(token);
    out.u8(result === null ? 0 : 1);
    if (result !== null) out.bytes(result);
  }
  // Where acks before issue 14 carried their queues' retention; the store keeps it now.
  out.u32(0);
}

export function decodeAck(body: Buffer): AckParams {
  const r = new ByteReader(body);
  const now = r.f64();
  const items = Array.from({ length: r.u32() }, () => {
    const token = r.str();
    return { token, result: r.u8() === 1 ? new Uint8Array(r.bytes()) : null };
  });
  // The retention of acks before issue 14, per queue: replayed with the stored settings instead.
  for (let n = r.u32(); n > 0; n--) {
    r.str();
    r.f64();
    r.f64();
  }
  return { now, items };
}

/** A compaction copy: jobs and their payloads, moved to the head of the log. */
export function encodeMove(out: ByteWriter, moved: readonly { id: string; payload: Uint8Array }[]): number[] {
  out.reset();
  out.u32(moved.length);
  const payloadAt: number[] = [];
  for (const { id, payload } of moved) {
    out.str(id);
    out.u32(payload.byteLength);
    payloadAt.push(out.length);
    out.raw(payload);
  }
  return payloadAt;
}

export function decodeMove(body: Buffer): { id: string; payloadAt: number }[] {
  const r = new ByteReader(body);
  const count = r.u32();
  const moved: { id: string; payloadAt: number }[] = [];
  for (let i = 0; i < count; i++) {
    const id = r.str();
    moved.push({ id, payloadAt: r.at + 4 });
    r.bytes();
  }
  return moved;
}

// Ack results are bytes; JSON carries them as base64.
function replacer(_key: string, value: unknown): unknown {
  // JSON has no Infinity (a configure's maxAttempts or retention): `{ $inf: 1 }` stands for it.
  if (value === Infinity) return { $inf: 1 };
  return value instanceof Uint8Array ? { $b: Buffer.from(value).toString('base64') } : value;
}

function reviver(_key: string, value: unknown): unknown {
  if (typeof value === 'object' && value !== null && '$inf' in value) return Infinity;
  if (typeof value === 'object' && value !== null && '$b' in value)
    return new Uint8Array(Buffer.from((value as { $b: string }).$b, 'base64'));
  return value;
}

/** The JSON text of a call; the log writes it straight into its buffer. */
export function encodeOperation(operation: Operation): string {
  return JSON.stringify(operation, replacer);
}

export function decodeOperation(body: Buffer): Operation {
  return JSON.parse(body.toString('utf8'), reviver) as Operation;
}
