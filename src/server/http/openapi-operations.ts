// What the OpenAPI document says of each operation that its route does not: its id, tag,
// summary, answer, success status, error statuses and examples, keyed by method and path.
import * as s from './schemas.ts';
import {
  bq,
  bqListed,
  bqMessage,
  counts,
  idsBySubscriber,
  int,
  jobInfo,
  leasedJob,
  leaseLeftMs,
  ms,
  nullable,
  object,
  ok,
  queueSettings,
  strings,
  subscriberInfo,
  subscriberStatus,
} from './openapi-answers.ts';
import type { Schema } from './openapi-answers.ts';

export type Tag = 'jobs' | 'leases' | 'queues' | 'topics' | 'dashboard' | 'blockqueue';
export interface Operation {
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

export const operations: Record<string, Operation> = {
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
    summary: 'Removes a job in any state; 404 when there is no such job',
    answer: object({ removed: { type: 'boolean' } }),
    errors: [404],
  },
  'POST /v1/queues/{queue}/jobs/{id}/cancel': {
    id: 'cancelJob',
    tag: 'jobs',
    summary:
      'Removes a job that has not started (waiting or delayed); `cancelled` false when it has; 404 when there is no such job',
    answer: object({ cancelled: { type: 'boolean' } }),
    errors: [404],
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
        leftMs: nullable({
          type: 'integer',
          description: "when not finished: how much of `wait` is left to ask for again; null when it was 'forever'",
        }),
      },
    },
    example: { state: 'completed', result: 'sent' },
    errors: [404],
  },
  'POST /v1/queues/{queue}/jobs/{id}/retry': {
    id: 'retryJob',
    tag: 'jobs',
    summary: 'Moves a dead job back to waiting with fresh attempts',
    answer: object({ retried: int }),
    errors: [404],
  },
  'POST /v1/queues/{queue}/jobs/{id}/promote': {
    id: 'promoteJob',
    tag: 'jobs',
    summary:
      'Makes a delayed job due now: it joins the waiting line as a job ready now; 404 when there is no such job or it is not delayed (`details.reason` says its state)',
    answer: object({ promoted: int }),
    errors: [404],
  },
  'GET /v1/queues/{queue}/jobs': {
    id: 'listJobs',
    tag: 'queues',
    summary:
      "A page of a queue's jobs in `state`; with `q`, those whose payload holds it, reading a bounded number of jobs per request (go on with `cursor`)",
    answer: object({
      jobs: { type: 'array', items: jobInfo },
      cursor: nullable({ type: 'string' }),
      scanned: { ...int, description: 'jobs read to answer' },
    }),
  },
  'POST /v1/queues/{queue}/jobs/bulk': {
    id: 'bulkJobs',
    tag: 'queues',
    summary: 'Retries or removes the jobs in `ids`, or every job matching `state` and `q`',
    answer: object({ changed: int }),
    errors: [415],
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
  'GET /v1/queues': {
    id: 'listQueues',
    tag: 'queues',
    summary:
      'Every queue the store knows (each that had an add or stored settings) that the caller may see, with its counts and settings',
    answer: object({
      queues: { type: 'array', items: object({ name: { type: 'string' }, counts, settings: queueSettings }) },
    }),
  },
  'GET /v1/queues/{queue}/settings': {
    id: 'getQueueSettings',
    tag: 'queues',
    summary: "A queue's stored settings, the same in every process",
    answer: queueSettings,
  },
  'PUT /v1/queues/{queue}/settings': {
    id: 'setQueueSettings',
    tag: 'queues',
    summary: 'Changes the settings given (the others keep theirs); every process sees them within a second',
    answer: queueSettings,
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
  'GET /v1/overview': {
    id: 'overview',
    tag: 'dashboard',
    summary: 'Every queue and topic with counts, rates and the age of the next waiting job, and ten minutes of samples',
    answer: object({
      at: ms,
      queues: { type: 'array', items: { type: 'object' } },
      topics: { type: 'array', items: { type: 'object' } },
      history: { type: 'object', description: 'per queue: [time, rate in, rate out, age of the next waiting job]' },
    }),
  },
  'GET /v1/workers': {
    id: 'listWorkers',
    tag: 'dashboard',
    summary: 'The processes running workers, from their heartbeats; `gone` when one stopped beating',
    answer: object({ processes: { type: 'array', items: { type: 'object' } } }),
  },
  'PUT /v1/workers/{id}': {
    id: 'postWorkerBeat',
    tag: 'leases',
    summary: "Posts one heartbeat of the caller's process and its workers (spool/client does, every 5 s)",
    answer: ok,
  },
  'DELETE /v1/workers/{id}': {
    id: 'withdrawWorkerBeat',
    tag: 'leases',
    summary: "Withdraws the heartbeat of the caller's process",
    answer: ok,
  },
  'GET /v1/audit': {
    id: 'readAudit',
    tag: 'dashboard',
    summary: 'The newest entries of the audit log: who changed what, and when',
    answer: object({ entries: { type: 'array', items: { type: 'object' } } }),
  },
  'GET /v1/whoami': {
    id: 'whoami',
    tag: 'dashboard',
    summary: "The caller's token: its name, scopes and prefix",
    answer: object({ who: { type: 'string' }, auth: { type: 'boolean' }, scopes: strings, prefix: { type: 'string' } }),
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
    summary: 'Completes many leased jobs, each with an optional result; a lost lease is reported, not an error',
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
  'POST /v1/requeue': {
    id: 'requeue',
    tag: 'leases',
    summary:
      'Puts a leased job back in line at once, as if its lease had run out: the attempt counts (dead on the last), no failure is kept',
    answer: object({ outcome: { enum: ['retry', 'dead'] } }),
    errors: [404, 409, 415],
  },
  'POST /v1/extend': {
    id: 'extend',
    tag: 'leases',
    summary: "Extends a lease by `ms` (default: the job's visibility)",
    answer: object({ leaseUntil: ms, leaseLeftMs }),
    errors: [404, 409, 415],
  },
  'GET /v1/topics': {
    id: 'listTopics',
    tag: 'topics',
    summary: 'The topics this token may see, a page at a time',
    answer: object({
      topics: strings,
      cursor: nullable({ type: 'string', description: 'pass as `cursor` for the next page; null after the last' }),
    }),
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
  'POST /v1/topics/{topic}/subscribers/{subscriber}/ack': {
    id: 'ackMessages',
    tag: 'topics',
    summary: "Acknowledges a subscription's messages by id, whoever leased them",
    answer: object({ acked: int }),
    example: { acked: 2 },
    errors: [404, 415],
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
  'GET /topics': {
    id: 'bqListTopics',
    tag: 'blockqueue',
    summary: 'BlockQueue: lists topics',
    answer: bq({
      type: 'array',
      items: object({
        id: { type: 'string' },
        name: { type: 'string' },
        created_at: { type: 'string', format: 'date-time' },
        deleted_at: nullable({ type: 'string', format: 'date-time' }),
      }),
    }),
  },
  'POST /topics': {
    id: 'bqCreateTopic',
    tag: 'blockqueue',
    summary: 'BlockQueue: creates a topic with its subscribers',
    answer: bq(),
    errors: [409],
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
    errors: [404, 413, 429],
  },
  'POST /topics/{topic}/messages/batch': {
    id: 'bqPublishBatch',
    tag: 'blockqueue',
    summary: 'BlockQueue: publishes messages',
    answer: bq(),
    errors: [404, 413, 429],
  },
  'GET /topics/{topic}/subscribers': {
    id: 'bqListSubscribers',
    tag: 'blockqueue',
    summary: "BlockQueue: each subscriber's unread and unacked counts",
    answer: bq({
      type: 'array',
      items: object({
        topic_id: { type: 'string', description: "the topic's id in GET /topics: its name" },
        name: { type: 'string' },
        unpublished_message: int,
        unacked_message: int,
      }),
    }),
    errors: [404],
  },
  'POST /topics/{topic}/subscribers': {
    id: 'bqAddSubscribers',
    tag: 'blockqueue',
    summary: 'BlockQueue: adds subscribers',
    answer: bq(),
    errors: [404, 409],
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
    errors: [404],
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
export const requestExamples: Record<string, unknown> = {
  addJob: {
    data: { to: 'ada@example.com' },
    options: { priority: 1, delay: '5m', maxAttempts: 3, key: 'welcome-ada' },
  },
  addJobs: { jobs: [{ data: 1 }, { data: 2, options: { priority: 5 } }] },
  retryDeadJobs: { ids: ['7', '9'] },
  lease: { queues: ['urgent', 'mail'], max: 10, visibility: '30s', wait: '30s' },
  ack: { token: '1:1', result: 'sent' },
  ackBatch: { tokens: ['1:1', '2:1'] },
  nack: { token: '1:1', delay: '10s', error: 'smtp timeout' },
  release: { token: '1:1' },
  requeue: { token: '1:1' },
  extend: { token: '1:1', ms: '1m' },
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
