// spool's own API for topics, under /v1: define topics and subscribers, publish, status.
// A subscriber's messages are leased like any queue's, from `<topic>.<subscriber>` via /v1/lease.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { PublishOptions, SubscriberInfo, SubscriberOptions } from '../../index.ts';
import { Guard } from './auth.ts';
import type { Context } from './context.ts';
import * as s from './schemas.ts';

interface TopicParams {
  topic: string;
  subscriber?: string;
}

const topicOf = (request: FastifyRequest): readonly string[] => [(request.params as TopicParams).topic];

const subscriberJson = (sub: SubscriberInfo) => ({
  ...sub,
  maxAttempts: Number.isFinite(sub.maxAttempts) ? sub.maxAttempts : null,
});

export function nativeTopics(app: FastifyInstance, context: Context): void {
  const { spool } = context;
  const topic = (request: FastifyRequest) => spool.topic((request.params as TopicParams).topic);
  const subscribers = { type: 'object', maxProperties: 100, additionalProperties: s.subscriberOptions } as const;

  app.get(
    '/v1/topics',
    {
      schema: {
        summary: `Topic names, sorted, \`limit\` at a time (default and most ${s.maxPage}); \`cursor\` from the last page`,
        querystring: s.body({ limit: s.page, cursor: s.name }, []),
      },
      config: { need: 'read' },
    },
    async (request) => {
      const { limit = String(s.maxPage), cursor } = request.query as { limit?: string; cursor?: string };
      const size = s.pageSize(limit, 'querystring.limit');
      const after = (await spool.topics()).filter(
        (name) => (cursor === undefined || name > cursor) && Guard.sees(request.principal, name),
      );
      const topics = after.slice(0, size);
      // The cursor is the last name answered: the next page starts after it.
      return { topics, cursor: after.length > topics.length ? (topics.at(-1) ?? null) : null };
    },
  );

  app.post(
    '/v1/topics',
    {
      schema: { body: s.body({ name: s.name, subscribers }, ['name']) },
      config: { need: 'admin', names: (request) => [(request.body as { name: string }).name] },
    },
    async (request, reply) => {
      const { name, subscribers: subs = {} } = request.body as {
        name: string;
        subscribers?: Record<string, SubscriberOptions>;
      };
      await spool.topic(name).create(subs);
      return reply.code(201).send({ name });
    },
  );

  app.get(
    '/v1/topics/:topic',
    { schema: { params: s.params('topic') }, config: { need: 'read', names: topicOf } },
    async (request) => {
      const info = await topic(request).info();
      return { ...info, subscribers: info.subscribers.map(subscriberJson) };
    },
  );

  app.delete(
    '/v1/topics/:topic',
    { schema: { params: s.params('topic') }, config: { need: 'admin', names: topicOf } },
    async (request) => {
      await topic(request).delete();
      return { deleted: true };
    },
  );

  app.put(
    '/v1/topics/:topic/subscribers/:subscriber',
    {
      schema: { params: s.params('topic', 'subscriber'), body: s.subscriberOptions },
      config: { need: 'admin', names: topicOf },
    },
    async (request) => {
      const { subscriber } = request.params as Required<TopicParams>;
      await topic(request).addSubscribers({ [subscriber]: request.body ?? {} });
      return { ok: true };
    },
  );

  app.delete(
    '/v1/topics/:topic/subscribers/:subscriber',
    { schema: { params: s.params('topic', 'subscriber') }, config: { need: 'admin', names: topicOf } },
    async (request) => {
      await topic(request).removeSubscriber((request.params as Required<TopicParams>).subscriber);
      return { deleted: true };
    },
  );

  app.post(
    '/v1/topics/:topic/messages',
    {
      bodyLimit: context.oneJobBodyLimit,
      schema: { params: s.params('topic'), body: s.newMessage },
      config: { need: 'publish', names: topicOf },
    },
    async (request, reply) => {
      const { data, options } = request.body as { data: unknown; options?: PublishOptions };
      return reply.code(201).send({ ids: await topic(request).publish(data, options) });
    },
  );

  app.post(
    '/v1/topics/:topic/messages/batch',
    {
      bodyLimit: context.bodyLimit * 8,
      schema: {
        params: s.params('topic'),
        body: s.body({ messages: { type: 'array', minItems: 1, maxItems: 10_000, items: s.newMessage } }, ['messages']),
      },
      config: { need: 'publish', names: topicOf },
    },
    async (request, reply) => {
      const { messages } = request.body as { messages: { data: unknown; options?: PublishOptions }[] };
      return reply.code(201).send({ ids: await topic(request).publishBulk(messages) });
    },
  );

  // The library's `topic.ack(subscriber, ids)`: acks messages by id, without their lease tokens.
  app.post(
    '/v1/topics/:topic/subscribers/:subscriber/ack',
    {
      schema: {
        params: s.params('topic', 'subscriber'),
        body: s.body({ ids: { type: 'array', minItems: 1, maxItems: 10_000, items: s.id } }, ['ids']),
      },
      config: { need: 'consume', names: topicOf },
    },
    async (request) => {
      const { subscriber } = request.params as Required<TopicParams>;
      return { acked: await topic(request).ack(subscriber, (request.body as { ids: string[] }).ids) };
    },
  );

  app.get(
    '/v1/topics/:topic/status',
    { schema: { params: s.params('topic') }, config: { need: 'read', names: topicOf } },
    async (request) => ({ subscribers: await topic(request).status() }),
  );
}
