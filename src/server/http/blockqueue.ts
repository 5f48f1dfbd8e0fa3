// BlockQueue's classic HTTP API (yudhasubki/blockqueue, v0.0.3 … 8457054), routes unchanged:
// same paths, methods, `{ message, data, error }` envelope, status codes and `?timeout=`
// long-poll. Deliberately stricter, as shared/research/blockqueue-api.md lists: a publish is
// durable before its 200, an unknown subscriber or message is a 404 (not a 500), a bad
// timeout is one 400 document, visibility is honoured to the second, max_attempts counts
// deliveries exactly, and unknown fields or unparsable durations are refused with a 400.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ExistsError, NotFoundError } from '../../index.ts';
import type { JobInfo, NotFoundKind, SpoolError, SubscriberOptions } from '../../index.ts';
import { Guard } from './auth.ts';
import { cappedWait, longPoll } from './context.ts';
import type { Context } from './context.ts';
import { parseGoDuration } from './go-duration.ts';
import * as s from './schemas.ts';

interface Params {
  topic: string;
  subscriber: string;
  id: string;
}

interface BqSubscriber {
  name: string;
  option?: { max_attempts?: number; visibility_duration?: string };
}

/** Most messages one read returns, as BlockQueue does. */
const readBatch = 10;

const subscriberSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: {
    name: s.name,
    option: {
      type: 'object',
      additionalProperties: false,
      properties: {
        max_attempts: { type: 'integer' },
        visibility_duration: { type: 'string', maxLength: 40 },
      },
    },
  },
} as const;

const subscribersSchema = { type: 'array', maxItems: 100, items: subscriberSchema } as const;
const publishSchema = s.body({ message: { type: 'string' }, delay: { type: 'string', maxLength: 40 } }, ['message']);

/**
 * BlockQueue's defaults: max_attempts ≤ 0 or absent → 1, visibility absent → 5m; redelivery right
 * as it ends. An empty visibility_duration is absent too: BlockQueue's own Go type (pkg/io
 * SubscriberOpt, no omitempty) sends `"visibility_duration": ""` for a subscriber made without options.
 */
function subscriberOptions(subscribers: readonly BqSubscriber[]): Record<string, SubscriberOptions> {
  return Object.fromEntries(
    subscribers.map(({ name, option = {} }, i) => [
      name,
      {
        maxAttempts: option.max_attempts !== undefined && option.max_attempts > 0 ? option.max_attempts : 1,
        visibility:
          option.visibility_duration === undefined || option.visibility_duration === ''
            ? '5m'
            : parseGoDuration(option.visibility_duration, `subscribers[${i}].option.visibility_duration`),
        backoff: { type: 'fixed', delay: 0 },
      },
    ]),
  );
}

/** BlockQueue's words for what was not found: a subscriber is a listener there; a job is a message. */
const notFoundText: Readonly<Record<NotFoundKind, string>> = {
  topic: 'topic not found',
  subscriber: 'listener not found',
  route: 'route not found',
  message: 'message not found',
  job: 'message not found',
};

/** BlockQueue's error envelope for a SpoolError, from its code and details: its `message` words and its error text. */
export function blockQueueError(error: SpoolError, status: number, message: string): object {
  if (error instanceof ExistsError) return { message: 'Conflict', error: `${error.kind} was exist` };
  if (error instanceof NotFoundError) return { message: 'not found', error: notFoundText[error.kind] };
  return { message: status === 409 ? 'Conflict' : 'failure', error: message };
}

/**
 * BlockQueue decodes every body as JSON whatever its Content-Type says (json.NewDecoder(r.Body)):
 * `curl -d '{…}'` sends application/x-www-form-urlencoded, a Go http.NewRequest none, and both
 * work there. On its routes a body is read as JSON too, before fastify would answer 415.
 */
function readBodyAsJson(request: FastifyRequest, _reply: FastifyReply, done: () => void): void {
  request.headers['content-type'] = 'application/json';
  done();
}

const success = (data?: unknown) => (data === undefined ? { message: 'success' } : { message: 'success', data });
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const text = (data: unknown) => (typeof data === 'string' ? data : JSON.stringify(data));

export function blockQueueRoutes(app: FastifyInstance, context: Context): void {
  const { spool } = context;
  const topicOf = (request: FastifyRequest): readonly string[] => [(request.params as Params).topic];
  const topic = (request: FastifyRequest) => spool.topic<string>((request.params as Params).topic);
  const subscriber = async (request: FastifyRequest) =>
    topic(request).requireSubscriber((request.params as Params).subscriber);
  const route = (need: 'read' | 'publish' | 'consume' | 'admin') => ({
    need,
    names: topicOf,
    envelope: 'blockqueue' as const,
  });
  const ok = (reply: FastifyReply, data?: unknown) => reply.code(200).send(success(data));

  app.get('/topics', { config: { need: 'read', envelope: 'blockqueue' } }, async (request, reply) => {
    const names = (await spool.topics()).filter((name) => Guard.sees(request.principal, name));
    const infos = await Promise.all(names.map((name) => spool.topic(name).info()));
    return ok(
      reply,
      infos.map((t) => ({ id: t.name, name: t.name, created_at: iso(t.createdAt), deleted_at: null })),
    );
  });

  app.post(
    '/topics',
    {
      onRequest: readBodyAsJson,
      // null too: Go marshals a client's nil slice so.
      schema: {
        body: s.body({ name: s.name, subscribers: { anyOf: [subscribersSchema, { type: 'null' }] } }, ['name']),
      },
      config: { need: 'admin', names: (request) => [(request.body as { name: string }).name], envelope: 'blockqueue' },
    },
    async (request, reply) => {
      const { name, subscribers } = request.body as { name: string; subscribers?: BqSubscriber[] | null };
      await spool.topic(name).create(subscriberOptions(subscribers ?? []));
      return ok(reply);
    },
  );

  app.delete(
    '/topics/:topic',
    {
      onRequest: readBodyAsJson,
      schema: { params: s.params('topic') },
      config: route('admin'),
    },
    async (request, reply) => {
      await topic(request).delete();
      return ok(reply);
    },
  );

  app.post(
    '/topics/:topic/messages',
    {
      onRequest: readBodyAsJson,
      bodyLimit: context.oneJobBodyLimit,
      schema: { params: s.params('topic'), body: publishSchema },
      config: route('publish'),
    },
    async (request, reply) => {
      const { message, delay } = request.body as { message: string; delay?: string };
      await topic(request).publish(
        message,
        delay === undefined ? undefined : { delay: parseGoDuration(delay, 'delay') },
      );
      return ok(reply);
    },
  );

  app.post(
    '/topics/:topic/messages/batch',
    {
      onRequest: readBodyAsJson,
      bodyLimit: context.bodyLimit * 8,
      schema: {
        params: s.params('topic'),
        body: { type: 'array', minItems: 1, maxItems: 10_000, items: publishSchema },
      },
      config: route('publish'),
    },
    async (request, reply) => {
      const messages = request.body as { message: string; delay?: string }[];
      await topic(request).publishBulk(
        messages.map(({ message, delay }, i) => ({
          data: message,
          options: delay === undefined ? undefined : { delay: parseGoDuration(delay, `[${i}].delay`) },
        })),
      );
      return ok(reply);
    },
  );

  app.get(
    '/topics/:topic/subscribers',
    { schema: { params: s.params('topic') }, config: route('read') },
    async (request, reply) => {
      const status = await topic(request).status();
      // BlockQueue 8457054 names the topic's id in each entry; a spool topic's id is its name, as GET /topics answers.
      const id = (request.params as Params).topic;
      return ok(
        reply,
        status.map((sub) => ({
          topic_id: id,
          name: sub.name,
          unpublished_message: sub.waiting,
          unacked_message: sub.inFlight,
        })),
      );
    },
  );

  app.post(
    '/topics/:topic/subscribers',
    {
      onRequest: readBodyAsJson,
      schema: { params: s.params('topic'), body: subscribersSchema },
      config: route('admin'),
    },
    async (request, reply) => {
      await topic(request).addSubscribers(subscriberOptions(request.body as BqSubscriber[]));
      return ok(reply);
    },
  );

  app.delete(
    '/topics/:topic/subscribers/:subscriber',
    {
      onRequest: readBodyAsJson,
      schema: { params: s.params('topic', 'subscriber') },
      config: route('admin'),
    },
    async (request, reply) => {
      await topic(request).removeSubscriber((request.params as Params).subscriber);
      return ok(reply);
    },
  );

  app.get(
    '/topics/:topic/subscribers/:subscriber',
    {
      schema: {
        params: s.params('topic', 'subscriber'),
        querystring: s.body({ timeout: { type: 'string', maxLength: 40 } }, ['timeout']),
      },
      // A read takes messages: the HEAD fastify would answer with this handler (a proxy's or a
      // link checker's) would move them in flight and throw away the ids that ack them.
      exposeHeadRoute: false,
      config: route('consume'),
    },
    async (request, reply) => {
      const timeout = parseGoDuration((request.query as { timeout: string }).timeout, 'timeout');
      const queue = await subscriber(request);
      const { value: jobs, gone } = await longPoll(context, reply, (signal) =>
        queue.lease({ max: readBatch, wait: cappedWait(context, timeout), signal }),
      );
      if (gone) await Promise.allSettled(jobs.map((job) => job.release()));
      // Removed while the read waited (BlockQueue: "listener was deleted"): said, not an empty success.
      else if (jobs.length === 0) await subscriber(request);
      return ok(
        reply,
        jobs.map((job) => ({ id: job.id, message: text(job.data) })),
      );
    },
  );

  app.delete(
    '/topics/:topic/subscribers/:subscriber/messages/batch',
    {
      onRequest: readBodyAsJson,
      schema: {
        params: s.params('topic', 'subscriber'),
        body: { type: 'array', minItems: 1, maxItems: 10_000, items: s.name },
      },
      config: route('consume'),
    },
    async (request, reply) => {
      const queue = await subscriber(request);
      const acked = await topic(request).ack((request.params as Params).subscriber, request.body as string[]);
      if (acked === 0) throw new NotFoundError('message', null, queue.name, 'none of these ids');
      return ok(reply);
    },
  );

  app.delete(
    '/topics/:topic/subscribers/:subscriber/messages/:id',
    {
      onRequest: readBodyAsJson,
      schema: { params: s.params('topic', 'subscriber', 'id') },
      config: route('consume'),
    },
    async (request, reply) => {
      const { subscriber: name, id } = request.params as Params;
      const queue = await subscriber(request);
      if ((await topic(request).ack(name, [id])) === 0) throw new NotFoundError('message', id, queue.name);
      return ok(reply);
    },
  );

  const listing = (status: (job: JobInfo<string>) => string) => (job: JobInfo<string>) => ({
    id: job.id,
    message: text(job.data),
    status: status(job),
    retry_count: job.attempts,
    visible_at: iso(job.leaseUntil ?? job.runAt),
    created_at: iso(job.createdAt),
  });

  app.get(
    '/topics/:topic/subscribers/:subscriber/messages',
    {
      schema: { params: s.params('topic', 'subscriber'), querystring: s.body({ limit: s.count, offset: s.count }, []) },
      config: route('read'),
    },
    async (request, reply) => {
      const queue = await subscriber(request);
      // BlockQueue accepts ?limit&offset and shows the first 100 whatever they say.
      const pages = await Promise.all(
        (['waiting', 'delayed', 'active'] as const).map((state) => queue.list(state, { limit: 100 })),
      );
      const jobs = pages.flatMap((p) => p.jobs).slice(0, 100);
      return ok(reply, jobs.map(listing((job) => (job.state === 'active' ? 'delivered' : 'pending'))));
    },
  );

  app.get(
    '/topics/:topic/subscribers/:subscriber/dlq',
    {
      schema: { params: s.params('topic', 'subscriber'), querystring: s.body({ limit: s.count, offset: s.count }, []) },
      config: route('read'),
    },
    async (request, reply) => {
      const page = await (await subscriber(request)).dead({ limit: 100 });
      return ok(reply, page.jobs.map(listing(() => 'dead_letter')));
    },
  );

  app.post(
    '/topics/:topic/subscribers/:subscriber/dlq/:id/replay',
    {
      onRequest: readBodyAsJson,
      schema: { params: s.params('topic', 'subscriber', 'id') },
      config: route('admin'),
    },
    async (request, reply) => {
      const { id } = request.params as Params;
      const queue = await subscriber(request);
      if ((await queue.retryDead([id])) === 0) throw new NotFoundError('message', id, queue.name);
      return ok(reply);
    },
  );
}
