// The heartbeats of workers that run over HTTP (spool/client): their process beats to the server,
// which posts each beat to the store, so the dashboard's Workers page and `spool.workers()` show
// them as they show workers on the store itself. The server's clock stamps each beat, the clock
// every reader compares with. A process's id is kept under the caller's token, so one token
// cannot overwrite or withdraw the beats of another's processes.
import { hostname } from 'node:os';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ProcessBeat } from '../../index.ts';
import { Guard } from './auth.ts';
import type { Context } from './context.ts';
import * as s from './schemas.ts';

/** A process's own id for itself: what spool/client makes (a UUID), or any such short word. */
const processId = { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' } as const;
const count = { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER } as const;

const workerBeat = s.body(
  {
    queue: s.name,
    concurrency: { type: 'integer', minimum: 1, maximum: 100_000 },
    running: count,
    prefetched: count,
    completed: count,
    failed: count,
  },
  ['queue', 'concurrency', 'running', 'prefetched', 'completed', 'failed'],
);

const processBeat = s.body(
  {
    host: { type: 'string', minLength: 1, maxLength: 255 },
    pid: { type: 'integer', minimum: 0, maximum: 2 ** 32 },
    startedAt: count,
    workers: { type: 'array', maxItems: 1000, items: workerBeat },
  },
  ['host', 'pid', 'startedAt', 'workers'],
);

const params = {
  type: 'object',
  additionalProperties: false,
  required: ['id'],
  properties: { id: processId },
} as const;

/** The id the caller's process is kept under: within its token's, when the server has tokens. */
function storedId(request: FastifyRequest): string {
  const { id } = request.params as { id: string };
  const owner = Guard.owner(request.principal);
  return owner === null ? `http-${id}` : `http-${owner}-${id}`;
}

export function workerBeatRoutes(app: FastifyInstance, { spool }: Context): void {
  /** This server, named in each beat it posts: its own settles count the jobs those workers ack. */
  const via = { host: hostname(), pid: process.pid };

  app.put(
    '/v1/workers/:id',
    {
      schema: {
        summary:
          "One heartbeat of a process whose workers run over HTTP, posted to the store with the server's clock; " +
          'beat every 5 s, or the process shows as gone after 15 s',
        params,
        body: processBeat,
      },
      config: { need: 'consume', names: (request) => (request.body as ProcessBeat).workers.map((w) => w.queue) },
    },
    async (request) => {
      await spool.postBeat(storedId(request), { ...(request.body as ProcessBeat), via });
      return { ok: true };
    },
  );

  app.delete(
    '/v1/workers/:id',
    {
      schema: { summary: "Withdraws the heartbeat of the caller's process: its workers closed", params },
      config: { need: 'consume' },
    },
    async (request) => {
      await spool.postBeat(storedId(request), null);
      return { ok: true };
    },
  );
}
