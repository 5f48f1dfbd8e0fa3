// The queues the store knows, and each queue's stored settings: GET /v1/queues, GET and PUT
// /v1/queues/:queue/settings. Settings cross the wire as JSON, where no limit is null (JSON has
// no Infinity) and durations are milliseconds.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { KeepOptions, QueueSettings, StoredQueueOptions } from '../../index.ts';
import { Guard } from './auth.ts';
import type { Context } from './context.ts';
import * as s from './schemas.ts';

/** A number that may be Infinity, as JSON: null for no limit. */
const finite = (n: number): number | null => (n === Infinity ? null : n);
const unlimited = (n: number | null | undefined): number | undefined => (n === null ? Infinity : (n ?? undefined));

export function settingsJson(settings: QueueSettings): Record<string, unknown> {
  const { backoff, keepCompleted } = settings;
  return {
    maxLength: settings.maxLength,
    maxAttempts: finite(settings.maxAttempts),
    backoff: { type: backoff.kind, delay: backoff.delayMs, maxDelay: backoff.maxDelayMs, jitter: backoff.jitter },
    visibility: settings.visibilityMs,
    ttl: settings.ttlMs,
    keepCompleted: { count: finite(keepCompleted.count), age: finite(keepCompleted.ageMs) },
    paused: settings.paused,
  };
}

const limit = { anyOf: [{ type: 'integer', minimum: 1 }, { type: 'null' }] } as const;

const settingsBody = s.body(
  {
    maxLength: limit,
    maxAttempts: limit,
    backoff: s.backoff,
    visibility: s.duration,
    ttl: { anyOf: [...s.duration.anyOf, { type: 'null' }] },
    keepCompleted: {
      anyOf: [
        { type: 'boolean' },
        { type: 'integer', minimum: 0 },
        s.body(
          {
            count: { anyOf: [{ type: 'integer', minimum: 0 }, { type: 'null' }] },
            age: { anyOf: [...s.duration.anyOf, { type: 'null' }] },
          },
          [],
        ),
      ],
    },
    paused: { type: 'boolean' },
  },
  [],
);

interface SettingsBody extends Omit<StoredQueueOptions, 'maxAttempts' | 'keepCompleted'> {
  maxAttempts?: number | null;
  keepCompleted?: boolean | number | { count?: number | null; age?: number | string | null };
}

/** The body's nulls for "no limit" as the library takes them (Infinity). */
function storedOptions(body: SettingsBody): StoredQueueOptions {
  const { maxAttempts, keepCompleted, ...rest } = body;
  const options: StoredQueueOptions = { ...rest };
  if (maxAttempts !== undefined) options.maxAttempts = unlimited(maxAttempts);
  if (typeof keepCompleted === 'object') {
    const keep: KeepOptions = {};
    if (keepCompleted.count !== undefined) keep.count = unlimited(keepCompleted.count);
    if (keepCompleted.age !== undefined) keep.age = keepCompleted.age === null ? Infinity : keepCompleted.age;
    options.keepCompleted = keep;
  } else if (keepCompleted !== undefined) options.keepCompleted = keepCompleted;
  return options;
}

export function queueSettings(app: FastifyInstance, context: Context): void {
  const { spool } = context;
  const queueOf = (request: FastifyRequest): string[] => [(request.params as { queue: string }).queue];

  app.get('/v1/queues', { schema: { querystring: s.noQuery }, config: { need: 'read' } }, async (request) => {
    const queues = (await spool.queues()).filter(({ name }) => Guard.sees(request.principal, name));
    return { queues: queues.map(({ name, counts, settings }) => ({ name, counts, settings: settingsJson(settings) })) };
  });

  app.get(
    '/v1/queues/:queue/settings',
    { schema: { params: s.params('queue') }, config: { need: 'read', names: queueOf } },
    async (request) => settingsJson(await spool.queue(queueOf(request)[0] as string).settings()),
  );

  app.put(
    '/v1/queues/:queue/settings',
    { schema: { params: s.params('queue'), body: settingsBody }, config: { need: 'admin', names: queueOf } },
    async (request) => {
      const q = spool.queue(queueOf(request)[0] as string);
      return settingsJson(await q.configure(storedOptions(request.body as SettingsBody)));
    },
  );
}
