// The answers' schemas for the OpenAPI document (documentation only: routes serialise as they
// always did; test/openapi.test.ts checks real answers against them).
import * as s from './schemas.ts';

export type Schema = Record<string, unknown>;

export const int = { type: 'integer' } as const;
export const ms = { type: 'integer', description: 'milliseconds since the epoch' } as const;
/** A lease's time left by the server's clock: a client times its extensions by it, not by its own clock against leaseUntil. */
export const leaseLeftMs = {
  type: 'integer',
  description: "the lease's milliseconds left, by the server's clock",
} as const;
export const nullable = (schema: Schema): Schema => ({ ...schema, nullable: true });
export const object = (properties: Record<string, unknown>, description?: string): Schema => ({
  type: 'object',
  required: Object.keys(properties),
  properties,
  ...(description === undefined ? {} : { description }),
});
export const strings = { type: 'array', items: { type: 'string' } } as const;
const any = { description: 'any JSON value' } as const;

const stored = object(
  {
    id: s.id,
    queue: { type: 'string' },
    state: { enum: ['waiting', 'delayed', 'active', 'completed', 'dead'] },
    data: any,
    priority: int,
    attempts: { type: 'integer', description: 'leases so far' },
    maxAttempts: nullable({ type: 'integer', description: 'null: unlimited' }),
    visibilityMs: {
      type: 'integer',
      description: 'how long each lease of it lasts unless the consumer asks for another',
    },
    nacks: int,
    createdAt: ms,
    runAt: { ...ms, description: 'when it may next run (its delay or back-off end), ms since the epoch' },
    expiresAt: nullable(ms),
    leaseUntil: nullable(ms),
    lastError: nullable({ type: 'string' }),
    errors: { ...strings, description: 'errors of failed attempts, oldest first (the last 10)' },
    result: { description: 'what the handler returned, while the job is kept completed' },
    finishedAt: nullable(ms),
  },
  'a job as stored',
);
// JSON has no undefined: `result` is there only when the job completed with one.
export const jobInfo = { ...stored, required: (stored.required as string[]).filter((key) => key !== 'result') };
export const leasedJob = object(
  {
    id: s.id,
    queue: { type: 'string' },
    token: { type: 'string', description: 'the fencing token: ack, nack, release, requeue or extend the job with it' },
    data: any,
    attempt: int,
    maxAttempts: nullable({ type: 'integer', description: 'null: unlimited' }),
    priority: int,
    createdAt: ms,
    leaseUntil: ms,
    leaseLeftMs,
    errors: strings,
    traceparent: nullable({
      type: 'string',
      description:
        "the W3C traceparent of the span that added the job (docs/metrics.md), for the consumer's span to link to; null without one",
    }),
  },
  'a leased job',
);
const backoff = object({
  kind: { enum: ['fixed', 'exponential'] },
  delayMs: int,
  maxDelayMs: int,
  jitter: { type: 'number' },
});
export const subscriberInfo = object({
  name: { type: 'string' },
  queue: { type: 'string', description: 'lease its messages from this queue' },
  maxAttempts: nullable(int),
  visibilityMs: int,
  backoff,
});
export const subscriberStatus = object({
  name: { type: 'string' },
  queue: { type: 'string' },
  waiting: int,
  inFlight: int,
  dead: int,
});
export const counts = object({
  waiting: int,
  delayed: int,
  active: int,
  dead: int,
  completed: int,
  expired: int,
  paused: { type: 'boolean' },
});
const limit = (what: string): Schema => ({ type: 'integer', nullable: true, description: `${what}; null: no limit` });
/** A queue's stored settings: durations in ms, null for no limit. */
export const queueSettings = object({
  maxLength: limit('most jobs waiting or delayed'),
  maxAttempts: limit('leases before a job goes dead'),
  backoff: object({
    type: { type: 'string', enum: ['fixed', 'exponential'] },
    delay: int,
    maxDelay: int,
    jitter: { type: 'number' },
  }),
  visibility: int,
  ttl: limit('time to live of a new job, ms'),
  keepCompleted: object({ count: limit('completed jobs kept'), age: limit('longest a completed job is kept, ms') }),
  keepDead: object({ count: limit('dead jobs kept'), age: limit('longest a dead job is kept, ms') }),
  paused: { type: 'boolean' },
});
export const idsBySubscriber = {
  type: 'object',
  additionalProperties: s.id,
  description: "the new job's id in each subscription's queue",
} as const;
export const ok = object({ ok: { type: 'boolean', enum: [true] } });

/** BlockQueue's envelope: `{ message: "success", data? }`. */
export const bq = (data?: Schema): Schema =>
  data === undefined
    ? object({ message: { type: 'string', enum: ['success'] } })
    : object({ message: { type: 'string', enum: ['success'] }, data });
export const bqMessage = object({ id: s.id, message: { type: 'string' } });
export const bqListed = object({
  id: s.id,
  message: { type: 'string' },
  status: { enum: ['pending', 'delivered', 'dead_letter'] },
  retry_count: int,
  visible_at: nullable({ type: 'string', format: 'date-time' }),
  created_at: { type: 'string', format: 'date-time' },
});
