// JSON schemas shared by the routes. Every object refuses unknown fields; core checks values
// again (durations, limits), so a schema here is the first gate and the OpenAPI document.
import { maxTokenLength } from '../../errors.ts';
import { ValidationError } from '../../index.ts';

/** Queue, topic and subscriber names, as core's name rule allows them. */
export const maxNameLength = 200;
export const name = { type: 'string', minLength: 1, maxLength: maxNameLength } as const;

/** Milliseconds, or a string such as '250ms', '30s', '5min', '2 days' (docs/durations.md; core checks the grammar and range). */
export const duration = {
  anyOf: [
    { type: 'number', minimum: 0 },
    { type: 'string', minLength: 1, maxLength: 40 },
  ],
} as const;

/** A long-poll's wait: a duration, or 'forever' for as long as the server allows (--max-wait). */
export const wait = {
  anyOf: duration.anyOf,
  description: "a duration, or 'forever': as long as the server allows (--max-wait, default 5m)",
} as const;

/** A duration alone is a fixed back-off, as in the library. */
export const backoff = {
  anyOf: [
    ...duration.anyOf,
    {
      type: 'object',
      additionalProperties: false,
      required: ['type', 'delay'],
      properties: {
        type: { enum: ['fixed', 'exponential'] },
        delay: duration,
        maxDelay: duration,
        jitter: { type: 'number', minimum: 0, maximum: 1 },
      },
    },
  ],
} as const;

export const jobOptions = {
  type: 'object',
  additionalProperties: false,
  properties: {
    delay: duration,
    priority: { type: 'integer' },
    ttl: duration,
    maxAttempts: { type: 'integer', minimum: 1 },
    backoff,
    visibility: duration,
    key: { type: 'string', minLength: 1, maxLength: 512 },
  },
} as const;

export const publishOptions = {
  type: 'object',
  additionalProperties: false,
  properties: { delay: duration, priority: { type: 'integer' }, ttl: duration, key: jobOptions.properties.key },
} as const;

export const subscriberOptions = {
  type: 'object',
  additionalProperties: false,
  properties: { maxAttempts: { type: 'integer', minimum: 1 }, visibility: duration, backoff },
} as const;

/** A job to add: `data` is any JSON value. */
export const newJob = {
  type: 'object',
  additionalProperties: false,
  required: ['data'],
  properties: { data: {}, options: jobOptions },
} as const;

export const newMessage = {
  type: 'object',
  additionalProperties: false,
  required: ['data'],
  properties: { data: {}, options: publishOptions },
} as const;

/**
 * A lease's token. Its shape and length are checkToken's to refuse, as spool/client refuses them
 * before sending: a schema's own limit named the field `body.tokens.0` where the client's
 * check says `tokens[0]`, and kept a second copy of the limit.
 */
export const token = {
  type: 'string',
  description: `a lease's token, '<id>:<attempt>.<seal>', at most ${maxTokenLength} characters`,
} as const;

/** A query-string count: schemas do not coerce types, so digits arrive as a string. */
export const count = { type: 'string', pattern: '^[0-9]{1,6}$' } as const;

/**
 * Most items one answer lists (issue 20: `peek?n=999999` on 200,000 jobs answered 68 MB and grew
 * the server by 450 MB); longer listings page on with their cursor.
 */
export const maxPage = 1000;

/** A query-string count of at most `maxPage` items; `pageSize` checks the bound. */
export const page = { ...count, description: `at most ${maxPage}` } as const;

/**
 * The number a `page` parameter gives; `field` names it in the error, `more` says where the rest
 * is (a route without a cursor must not send the caller to one).
 */
export function pageSize(value: string, field: string, more = 'page on with the cursor'): number {
  const n = Number(value);
  // A page of none would read as the end of the listing.
  if (n < 1) throw new ValidationError(field, `must be at least 1, got ${n}`);
  if (n > maxPage) throw new ValidationError(field, `must be at most ${maxPage}, got ${n}; ${more}`);
  return n;
}

export function params<const K extends string>(...keys: K[]) {
  return {
    type: 'object',
    additionalProperties: false,
    required: keys,
    properties: Object.fromEntries(keys.map((k) => [k, name])) as Record<K, typeof name>,
  } as const;
}

export function body<const P extends Record<string, unknown>, const R extends readonly (keyof P & string)[]>(
  properties: P,
  required: R,
) {
  return { type: 'object', additionalProperties: false, required, properties } as const;
}

/** A job id as answers carry it. */
export const id = { type: 'string' } as const;

/**
 * An answer's schema: fastify serialises through it with fast-json-stringify instead of
 * JSON.stringify (a share of every publish), and the OpenAPI document shows it. Only the
 * fields named are sent.
 */
export function answer<const P extends Record<string, unknown>>(properties: P) {
  return { type: 'object', required: Object.keys(properties), properties } as const;
}

export const noQuery = { type: 'object', additionalProperties: false, properties: {} } as const;
