// The OpenAPI document at /openapi.json and /docs: @fastify/swagger derives paths, parameters
// and request bodies from the routes' schemas; this module adds what a reader needs and the
// routes do not say: an operationId, a tag and a summary per operation, the answer's schema
// (documentation only: the routes serialise as they did), every error answer with its shape,
// and examples. One table, so the route files keep to their handlers.
import type { FastifyDynamicSwaggerOptions } from '@fastify/swagger';
import * as s from './schemas.ts';

type Schema = Record<string, unknown>;

const int = { type: 'integer' } as const;
const ms = { type: 'integer', description: 'milliseconds since the epoch' } as const;
const nullable = (schema: Schema): Schema => ({ ...schema, nullable: true });
const object = (properties: Record<string, unknown>, description?: string): Schema => ({
  type: 'object',
  required: Object.keys(properties),
  properties,
  ...(description === undefined ? {} : { description }),
});
const strings = { type: 'array', items: { type: 'string' } } as const;
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
const jobInfo = { ...stored, required: (stored.required as string[]).filter((key) => key !== 'result') };
const leasedJob = object(
  {
    id: s.id,
    queue: { type: 'string' },
    token: { type: 'string', description: 'the fencing token: settle the job with it' },
    data: any,
    attempt: int,
    maxAttempts: int,
    priority: int,
    createdAt: ms,
    leaseUntil: ms,
    errors: strings,
  },
  'a leased job',
);
const backoff = object({
  kind: { enum: ['fixed', 'exponential'] },
  delayMs: int,
  maxDelayMs: int,
  jitter: { type: 'number' },
});
const subscriberInfo = object({
  name: { type: 'string' },
  queue: { type: 'string', description: 'lease its messages from this queue' },
  maxAttempts: nullable(int),
  visibilityMs: int,
  backoff,
});
const subscriberStatus = object({
  name: { type: 'string' },
  queue: { type: 'string' },
  waiting: int,
  inFlight: int,
  dead: int,
});
const counts = object({
  waiting: int,
  delayed: int,
  active: int,
  dead: int,
  completed: int,
  expired: int,
  paused: { type: 'boolean' },
});
const idsBySubscriber = {
  type: 'object',
  additionalProperties: s.id,
  description: "the new job's id in each subscription's queue",
} as const;
const ok = object({ ok: { type: 'boolean', enum: [true] } });

/** BlockQueue's envelope: `{ message: "success", data? }`. */
const bq = (data?: Schema): Schema =>
  data === undefined
    ? object({ message: { type: 'string', enum: ['success'] } })
    : object({ message: { type: 'string', enum: ['success'] }, data });
const bqMessage = object({ id: s.id, message: { type: 'string' } });
const bqListed = object({
  id: s.id,
  message: { type: 'string' },
  status: { enum: ['pending', 'delivered', 'dead_letter'] },
  retry_count: int,
  visible_at: nullable({ type: 'string', format: 'date-time' }),
  created_at: { type: 'string', format: 'date-time' },
});

type Tag = 'jobs' | 'leases' | 'queues' | 'topics' | 'blockqueue';
interface Operation {
  readonly id: string;
  readonly tag: Tag;
  readonly summary: string;
  readonly answer: Schema;
  /** The success status, when not 200. */
  readonly status?: 201;
  readonly example?: unknown;
  /** Error statuses beyond those every operation may answer (400, 401, 403, 500, 503). */
  readonly errors?: readonly number[];
}

const operations: Record<string, Operation> = {
  'POST /v1/queues/{queue}/jobs': {
    id: 'addJob',
    status: 201,
    tag: 'jobs',
    summary: 'Adds a job; its options go in `options`',
    answer: object({ id: s.id }),
    example: { id: '1' },
    errors: [413, 415, 429],
  },
  'POST /v1/queues/{queue}/jobs/batch': {
    id: 'addJobs',
    status: 201,
    tag: 'jobs',
    summary: 'Adds up to 10,000 jobs atomically',
    answer: object({ ids: { type: 'array', items: s.id } }),
    errors: [413, 415, 429],
  },
  'GET /v1/queues/{queue}/jobs/{id}': {
    id: 'getJob',
    tag: 'jobs',
    summary: 'Reads a job',
    answer: jobInfo,
    errors: [404],
  },
  'DELETE /v1/queues/{queue}/jobs/{id}': {
    id: 'removeJob',
    tag: 'jobs',
    summary: 'Removes a job in any state',
    answer: object({ removed: { type: 'boolean' } }),
  },
  'GET /v1/queues/{queue}/jobs/{id}/result': {
    id: 'waitForJob',
    tag: 'jobs',
    summary: 'Waits up to `wait` for a job to finish: its result once acked, its errors once dead',
    answer: {
      type: 'object',
      required: ['state'],
      properties: {
        state: { enum: ['waiting', 'delayed', 'active', 'completed', 'dead'] },
        result: { description: 'when completed: what the worker acked with' },
        errors: { ...strings, description: 'when dead' },
        waitedMs: { type: 'integer', description: 'when not finished: how long this request waited' },
        leftMs: { type: 'integer', description: 'when not finished: how much of `wait` is left to ask for again' },
      },
    },
    example: { state: 'completed', result: 'sent' },
    errors: [404],
  },
  'GET /v1/queues/{queue}/peek': {
    id: 'peekJobs',
    tag: 'queues',
    summary: 'The next `n` jobs a lease would take, without leasing them',
    answer: object({ jobs: { type: 'array', items: jobInfo } }),
  },
  'GET /v1/queues/{queue}/counts': {
    id: 'countJobs',
    tag: 'queues',
    summary: "A queue's jobs by state, and whether it is paused",
    answer: counts,
    example: { waiting: 1, delayed: 0, active: 0, dead: 0, completed: 0, expired: 0, paused: false },
  },
  'GET /v1/queues/{queue}/dead': {
    id: 'listDeadJobs',
    tag: 'queues',
    summary: "A page of a queue's dead jobs; pass `cursor` for the next",
    answer: object({ jobs: { type: 'array', items: jobInfo }, cursor: nullable({ type: 'string' }) }),
  },
  'POST /v1/queues/{queue}/dead/retry': {
    id: 'retryDeadJobs',
    tag: 'queues',
    summary: 'Moves dead jobs back to waiting: those in `ids`, or all without a body',
    answer: object({ retried: int }),
    errors: [415],
  },
  'POST /v1/queues/{queue}/purge': {
    id: 'purgeQueue',
    tag: 'queues',
    summary: "Removes a queue's waiting and delayed jobs",
    answer: object({ purged: int }),
  },
  'POST /v1/queues/{queue}/pause': {
    id: 'pauseQueue',
    tag: 'queues',
    summary: 'Stops leases from a queue; adds go on',
    answer: object({ paused: { type: 'boolean', enum: [true] } }),
  },
  'POST /v1/queues/{queue}/resume': {
    id: 'resumeQueue',
    tag: 'queues',
    summary: 'Lets leases take from a paused queue again',
    answer: object({ paused: { type: 'boolean', enum: [false] } }),
  },
  'POST /v1/lease': {
    id: 'lease',
    tag: 'leases',
    summary: 'Leases up to `max` jobs from the queues, left to right, waiting up to `wait` for one',
    answer: object({ jobs: { type: 'array', items: leasedJob } }),
    errors: [415],
  },
  'POST /v1/ack': {
    id: 'ack',
    tag: 'leases',
    summary: "Completes a leased job, with an optional result for the job's waiters",
    answer: ok,
    errors: [404, 409, 415],
  },
  'POST /v1/ack/batch': {
    id: 'ackBatch',
    tag: 'leases',
    summary: 'Completes many leased jobs; a lost lease is reported, not an error',
    answer: object({ acked: int, lost: { type: 'array', items: s.token } }),
    errors: [404, 415],
  },
  'POST /v1/nack': {
    id: 'nack',
    tag: 'leases',
    summary: "Fails a leased job's attempt: retried after `delay` or its back-off, or dead",
    answer: object({ outcome: { enum: ['retry', 'dead'] } }),
    errors: [404, 409, 415],
  },
  'POST /v1/release': {
    id: 'release',
    tag: 'leases',
    summary: 'Hands a leased job back without counting a failed attempt',
    answer: ok,
    errors: [404, 409, 415],
  },
  'POST /v1/extend': {
    id: 'extend',
    tag: 'leases',
    summary: "Extends a lease by `ms` (default: the job's visibility)",
    answer: object({ leaseUntil: ms }),
    errors: [404, 409, 415],
  },
  'GET /v1/topics': {
    id: 'listTopics',
    tag: 'topics',
    summary: 'The topics this token may see',
    answer: object({ topics: strings }),
  },
  'POST /v1/topics': {
    id: 'createTopic',
    status: 201,
    tag: 'topics',
    summary: 'Creates a topic with its subscriptions',
    answer: object({ name: { type: 'string' } }),
    errors: [409, 415],
  },
  'GET /v1/topics/{topic}': {
    id: 'getTopic',
    tag: 'topics',
    summary: 'A topic and its subscriptions',
    answer: object({ name: { type: 'string' }, createdAt: ms, subscribers: { type: 'array', items: subscriberInfo } }),
    errors: [404],
  },
  'DELETE /v1/topics/{topic}': {
    id: 'deleteTopic',
    tag: 'topics',
    summary: 'Deletes a topic and its subscriptions',
    answer: object({ deleted: { type: 'boolean', enum: [true] } }),
    errors: [404],
  },
  'PUT /v1/topics/{topic}/subscribers/{subscriber}': {
    id: 'putSubscriber',
    tag: 'topics',
    summary: 'Adds a subscription to a topic',
    answer: ok,
    errors: [404, 409, 415],
  },
  'DELETE /v1/topics/{topic}/subscribers/{subscriber}': {
    id: 'deleteSubscriber',
    tag: 'topics',
    summary: 'Removes a subscription and its messages',
    answer: object({ deleted: { type: 'boolean', enum: [true] } }),
    errors: [404],
  },
  'POST /v1/topics/{topic}/messages': {
    id: 'publish',
    status: 201,
    tag: 'topics',
    summary: 'Publishes a message to every subscription atomically; its options go in `options`',
    answer: object({ ids: idsBySubscriber }),
    example: { ids: { billing: '1', email: '2' } },
    errors: [404, 413, 415, 429],
  },
  'POST /v1/topics/{topic}/messages/batch': {
    id: 'publishBatch',
    status: 201,
    tag: 'topics',
    summary: 'Publishes up to 10,000 messages atomically',
    answer: object({ ids: { type: 'array', items: idsBySubscriber } }),
    errors: [404, 413, 415, 429],
  },
  'GET /v1/topics/{topic}/status': {
    id: 'topicStatus',
    tag: 'topics',
    summary: "Each subscription's waiting, in-flight and dead messages",
    answer: object({ subscribers: { type: 'array', items: subscriberStatus } }),
    errors: [404],
  },
  'GET /topics': { id: 'bqListTopics', tag: 'blockqueue', summary: 'BlockQueue: lists topics', answer: bq() },
  'POST /topics': {
    id: 'bqCreateTopic',
    tag: 'blockqueue',
    summary: 'BlockQueue: creates a topic with its subscribers',
    answer: bq(),
    errors: [409, 415],
  },
  'DELETE /topics/{topic}': {
    id: 'bqDeleteTopic',
    tag: 'blockqueue',
    summary: 'BlockQueue: deletes a topic',
    answer: bq(),
    errors: [404],
  },
  'POST /topics/{topic}/messages': {
    id: 'bqPublish',
    tag: 'blockqueue',
    summary: 'BlockQueue: publishes a message',
    answer: bq(),
    errors: [404, 413, 415, 429],
  },
  'POST /topics/{topic}/messages/batch': {
    id: 'bqPublishBatch',
    tag: 'blockqueue',
    summary: 'BlockQueue: publishes messages',
    answer: bq(),
    errors: [404, 413, 415, 429],
  },
  'GET /topics/{topic}/subscribers': {
    id: 'bqListSubscribers',
    tag: 'blockqueue',
    summary: "BlockQueue: each subscriber's unread and unacked counts",
    answer: bq({
      type: 'array',
      items: object({ name: { type: 'string' }, unpublished_message: int, unacked_message: int }),
    }),
    errors: [404],
  },
  'POST /topics/{topic}/subscribers': {
    id: 'bqAddSubscribers',
    tag: 'blockqueue',
    summary: 'BlockQueue: adds subscribers',
    answer: bq(),
    errors: [404, 409, 415],
  },
  'DELETE /topics/{topic}/subscribers/{subscriber}': {
    id: 'bqDeleteSubscriber',
    tag: 'blockqueue',
    summary: 'BlockQueue: removes a subscriber',
    answer: bq(),
    errors: [404],
  },
  'GET /topics/{topic}/subscribers/{subscriber}': {
    id: 'bqRead',
    tag: 'blockqueue',
    summary: 'BlockQueue: reads up to 10 messages, waiting up to `timeout`',
    answer: bq({ type: 'array', items: bqMessage }),
    errors: [404],
  },
  'DELETE /topics/{topic}/subscribers/{subscriber}/messages/batch': {
    id: 'bqAckBatch',
    tag: 'blockqueue',
    summary: 'BlockQueue: acknowledges messages',
    answer: bq(),
    errors: [404, 415],
  },
  'DELETE /topics/{topic}/subscribers/{subscriber}/messages/{id}': {
    id: 'bqAck',
    tag: 'blockqueue',
    summary: 'BlockQueue: acknowledges a message',
    answer: bq(),
    errors: [404],
  },
  'GET /topics/{topic}/subscribers/{subscriber}/messages': {
    id: 'bqListMessages',
    tag: 'blockqueue',
    summary: "BlockQueue: a subscriber's pending and delivered messages (the first 100)",
    answer: bq({ type: 'array', items: bqListed }),
    errors: [404],
  },
  'GET /topics/{topic}/subscribers/{subscriber}/dlq': {
    id: 'bqListDead',
    tag: 'blockqueue',
    summary: "BlockQueue: a subscriber's dead letters (the first 100)",
    answer: bq({ type: 'array', items: bqListed }),
    errors: [404],
  },
  'POST /topics/{topic}/subscribers/{subscriber}/dlq/{id}/replay': {
    id: 'bqReplay',
    tag: 'blockqueue',
    summary: 'BlockQueue: moves a dead letter back to pending',
    answer: bq(),
    errors: [404],
  },
};

/** Request body examples, by operation. */
const requestExamples: Record<string, unknown> = {
  addJob: {
    data: { to: 'ada@example.com' },
    options: { priority: 1, delay: '5m', maxAttempts: 3, key: 'welcome-ada' },
  },
  addJobs: { jobs: [{ data: 1 }, { data: 2, options: { priority: 5 } }] },
  retryDeadJobs: { ids: ['7', '9'] },
  lease: { queues: ['urgent', 'mail'], max: 10, visibility: '30s', wait: '30s' },
  ack: { token: '1:1:3f9a', result: 'sent' },
  ackBatch: { tokens: ['1:1:3f9a', '2:1:77c0'] },
  nack: { token: '1:1:3f9a', delay: '10s', error: 'smtp timeout' },
  release: { token: '1:1:3f9a' },
  extend: { token: '1:1:3f9a', ms: '1m' },
  createTopic: { name: 'orders', subscribers: { billing: { maxAttempts: 10 }, email: {} } },
  putSubscriber: { maxAttempts: 3, visibility: '1m' },
  publish: { data: { order: 42 }, options: { priority: 5 } },
  publishBatch: { messages: [{ data: { order: 42 } }, { data: { order: 43 }, options: { delay: '1m' } }] },
  bqCreateTopic: {
    name: 'cart',
    subscribers: [{ name: 'counter', option: { max_attempts: 5, visibility_duration: '1m' } }],
  },
  bqPublish: { message: 'hi', delay: '5s' },
};

const errorShape = object({
  error: object({
    code: { type: 'string', description: 'stable: match on it (docs/errors.md)', example: 'VALIDATION' },
    message: {
      type: 'string',
      description: 'for people; may change',
      example: 'body.options.delay: is not a duration',
    },
  }),
});
const bqErrorShape = object({ message: { type: 'string', example: 'failure' }, error: { type: 'string' } });

const errorMeaning: Record<number, string> = {
  400: 'the request is invalid (VALIDATION): a field, parameter or the JSON itself',
  401: 'no or an unknown bearer token (UNAUTHORIZED), when the server has tokens',
  403: 'the token lacks the scope or the queue/topic prefix (FORBIDDEN)',
  404: 'no such job, lease, topic or subscription (NOT_FOUND)',
  409: 'the lease was lost, or the topic or subscription exists (LEASE_LOST, EXISTS)',
  413: 'the body is over the limit (TOO_LARGE)',
  415: 'the body is not application/json (UNSUPPORTED_MEDIA_TYPE)',
  429: 'the queue is at its maxLength (QUEUE_FULL)',
  500: 'the store failed (STORAGE) or a bug (INTERNAL); the message says to see the server log',
  503: 'the server is closing or the store is locked (CLOSED, LOCKED)',
};

const always = [400, 401, 403, 500, 503];

interface OpenApiOperation {
  operationId?: string;
  tags?: string[];
  summary?: string;
  requestBody?: { required?: boolean; content?: Record<string, { schema?: unknown; example?: unknown }> };
  responses?: Record<string, { description: string; content?: Record<string, { schema: unknown; example?: unknown }> }>;
}

/** `required: []` is invalid in OpenAPI 3.0 (an array of at least one name): drops it everywhere. */
function dropEmptyRequired(value: unknown): void {
  if (Array.isArray(value)) value.forEach(dropEmptyRequired);
  else if (typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>;
    if (Array.isArray(record.required) && record.required.length === 0) delete record.required;
    Object.values(record).forEach(dropEmptyRequired);
  }
}

function describe(path: string, method: string, op: OpenApiOperation): void {
  const known = operations[`${method.toUpperCase()} ${path}`];
  if (known === undefined) throw new Error(`openapi: no description for ${method.toUpperCase()} ${path}`);
  op.operationId = known.id;
  op.tags = [known.tag];
  op.summary = known.summary;
  const json = (schema: unknown, example?: unknown) => ({
    'application/json': example === undefined ? { schema } : { schema, example },
  });
  const status = String(known.status ?? 200);
  const responses: NonNullable<OpenApiOperation['responses']> = {
    [status]: { description: known.summary, content: json(known.answer, known.example) },
  };
  const envelope = known.tag === 'blockqueue' ? bqErrorShape : { $ref: '#/components/schemas/Error' };
  for (const code of [...always, ...(known.errors ?? [])].sort())
    responses[String(code)] = { description: errorMeaning[code] ?? 'an error', content: json(envelope) };
  op.responses = responses;
  const body = op.requestBody?.content?.['application/json'];
  if (body !== undefined && requestExamples[known.id] !== undefined) body.example = requestExamples[known.id];
  // Without a body it retries every dead job: the body is optional (issue 19).
  if (known.id === 'retryDeadJobs' && op.requestBody !== undefined) op.requestBody.required = false;
}

export function openapiOptions(version: string, tokens: boolean): FastifyDynamicSwaggerOptions {
  return {
    openapi: {
      info: {
        title: 'spool',
        version,
        description:
          "spool's HTTP API: queues and jobs, leases, topics under /v1, and BlockQueue's routes unchanged under /topics. Errors answer `{ error: { code, message } }` (BlockQueue's routes: `{ message, error }`).",
        license: { name: 'MIT', url: 'https://opensource.org/licenses/MIT' },
      },
      servers: [{ url: '/', description: 'this server' }],
      tags: [
        { name: 'jobs', description: 'add, read, wait for and remove jobs' },
        { name: 'leases', description: 'lease jobs and settle them by their token' },
        { name: 'queues', description: 'inspect and administer a queue' },
        { name: 'topics', description: 'topics, subscriptions and publishing' },
        { name: 'blockqueue', description: "BlockQueue's classic API, unchanged" },
      ],
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
        schemas: { Error: errorShape },
      },
      security: tokens ? [{ bearer: [] }] : [],
    },
    transformObject: (document) => {
      // Only an OpenAPI document is asked for (the `openapi` option), never Swagger 2.
      if (!('openapiObject' in document)) return document.swaggerObject;
      const { openapiObject } = document;
      const paths = (openapiObject as { paths?: Record<string, Record<string, OpenApiOperation>> }).paths ?? {};
      for (const [path, methods] of Object.entries(paths))
        for (const [method, op] of Object.entries(methods)) describe(path, method, op);
      dropEmptyRequired(openapiObject);
      return openapiObject;
    },
  };
}
