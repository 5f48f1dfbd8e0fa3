// The queues the store knows, and each queue's stored settings: GET /v1/queues, GET and PUT
// /v1/queues/:queue/settings. Settings cross the wire as JSON, where no limit is null (JSON has
// no Infinity) and durations are milliseconds.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { KeepOptions, QueueSettings, Retention, StoredQueueOptions } from '../../index.ts';
import { Guard } from './auth.ts';
import type { Context } from './context.ts';
import * as s from './schemas.ts';

/** A number that may be Infinity, as JSON: null for no limit. */
const finite = (n: number): number | null => (n === Infinity ? null : n);
const unlimited = (n: number | null | undefined): number | undefined => (n === null ? Infinity : (n ?? undefined));

const keepJson = ({ count, ageMs }: Retention) => ({ count: finite(count), age: finite(ageMs) });

export function settingsJson(settings: QueueSettings): Record<string, unknown> {
  const { backoff } = settings;
  return {
    maxLength: settings.maxLength,
    maxAttempts: finite(settings.maxAttempts),
    backoff: { type: backoff.kind, delay: backoff.delayMs, maxDelay: backoff.maxDelayMs, jitter: backoff.jitter },
    visibility: settings.visibilityMs,
    ttl: settings.ttlMs,
    keepCompleted: keepJson(settings.keepCompleted),
    keepDead: keepJson(settings.keepDead),
    paused: settings.paused,
  };
}

const limit = { anyOf: [{ type: 'integer', minimum: 1 }, { type: 'null' }] } as const;

const keepBody = {
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
} as const;

const settingsBody = s.body(
  {
    maxLength: limit,
    maxAttempts: limit,
    backoff: s.backoff,
    visibility: s.duration,
    ttl: { anyOf: [...s.duration.anyOf, { type: 'null' }] },
    keepCompleted: keepBody,
    keepDead: keepBody,
    paused: { type: 'boolean' },
  },
  [],
);

type KeepBody = boolean | number | { count?: number | null; age?: number | string | null };

interface SettingsBody extends Omit<StoredQueueOptions, 'maxAttempts' | 'keepCompleted' | 'keepDead'> {
  maxAttempts?: number | null;
  keepCompleted?: KeepBody;
  keepDead?: KeepBody;
}

/** A retention's nulls for "no limit" as the library takes them (Infinity). */
function keepOptions(body: KeepBody): boolean | number | KeepOptions {
  if (typeof body !== 'object') return body;
  const keep: KeepOptions = {};
  if (body.count !== undefined) keep.count = unlimited(body.count);
  if (body.age !== undefined) keep.age = body.age === null ? Infinity : body.age;
  return keep;
}

/** The body's nulls for "no limit" as the library takes them (Infinity). */
function storedOptions(body: SettingsBody): StoredQueueOptions {
  const { maxAttempts, keepCompleted, keepDead, ...rest } = body;
  const options: StoredQueueOptions = { ...rest };
  if (maxAttempts !== undefined) options.maxAttempts = unlimited(maxAttempts);
  if (keepCompleted !== undefined) options.keepCompleted = keepOptions(keepCompleted);
  if (keepDead !== undefined) options.keepDead = keepOptions(keepDead);
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
