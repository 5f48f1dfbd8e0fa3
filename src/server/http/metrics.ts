// GET /metrics in Prometheus' text format (issue 18). Counters and histograms follow the
// Spool's observer (core/observers.ts): what this process adds, leases, acks and nacks. Job counts
// are read from the store at scrape time, one counts() call per queue and nothing that walks
// jobs, so a scrape every 5 s costs the same at a million jobs as at ten.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Spool, SpoolObserver } from '../../index.ts';
import { queueCounts } from '../queue-counts.ts';
import type { Context } from './context.ts';
import { failure } from './errors.ts';

const states = ['waiting', 'delayed', 'active', 'dead', 'completed'] as const;

/** Seconds, from a fast handler to an hour-long backlog. */
const buckets = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600];

/**
 * Lease times of the jobs leased and not yet acked or nacked, by job id, for the run-time histogram.
 * A job whose lease runs out and is never leased again would stay: past this many the oldest go.
 */
const maxTracked = 100_000;

/** The instruments, in one registry per server (a process may run several). */
function instruments(registry: Registry) {
  const registers = [registry];
  const perQueue = (name: string, help: string) => new Counter({ name, help, labelNames: ['queue'], registers });
  return {
    jobs: new Gauge({
      name: 'spool_jobs',
      help: 'Jobs in the queue by state, read from the store at scrape time.',
      labelNames: ['queue', 'state'],
      registers,
    }),
    paused: new Gauge({
      name: 'spool_queue_paused',
      help: '1 when the queue is paused, else 0.',
      labelNames: ['queue'],
      registers,
    }),
    added: perQueue('spool_jobs_added_total', 'Jobs added through this server (an idempotent repeat is not counted).'),
    completed: perQueue('spool_jobs_completed_total', 'Jobs acked through this server.'),
    failed: perQueue('spool_jobs_failed_total', 'Attempts that failed and will be retried.'),
    dead: perQueue('spool_jobs_dead_total', 'Jobs that went dead (attempts used up, or failed for good).'),
    expiries: perQueue(
      'spool_lease_expiries_total',
      'Jobs leased again after their previous lease ran out with no ack or nack (reclaimed by the store).',
    ),
    lost: perQueue('spool_leases_lost_total', 'Acks, nacks and extends that found their lease already gone.'),
    wait: new Histogram({
      name: 'spool_job_wait_seconds',
      help: 'From when a job became leasable (added, or its delay or back-off ended) to its lease.',
      labelNames: ['queue'],
      buckets,
      registers,
    }),
    run: new Histogram({
      name: 'spool_job_run_seconds',
      help: 'From a lease to its ack or nack, by outcome.',
      labelNames: ['queue', 'outcome'],
      buckets,
      registers,
    }),
    storeErrors: new Counter({
      name: 'spool_store_errors_total',
      help: 'Requests that failed through no fault of the caller (the store failed or was unreachable), by route.',
      labelNames: ['route'],
      registers,
    }),
  };
}

type Instruments = ReturnType<typeof instruments>;

/** Counts what the Spool reports; `seen` collects the queue names it reports on. */
function observer(m: Instruments, seen: Set<string>): SpoolObserver {
  const leasedAt = new Map<string, number>();
  return {
    added(queue, count) {
      seen.add(queue);
      m.added.inc({ queue }, count);
    },
    leased(record, now, expired) {
      const { queue } = record;
      seen.add(queue);
      m.wait.observe({ queue }, Math.max(0, now - record.availableAt) / 1000);
      if (expired) m.expiries.inc({ queue });
      // Deleted first so that the map's order stays the order of the leases.
      leasedAt.delete(record.id);
      leasedAt.set(record.id, now);
      if (leasedAt.size > maxTracked) leasedAt.delete(leasedAt.keys().next().value as string);
    },
    settled(queue, id, outcome, now) {
      seen.add(queue);
      m[outcome].inc({ queue });
      const at = leasedAt.get(id);
      if (at === undefined) return;
      leasedAt.delete(id);
      m.run.observe({ queue, outcome }, Math.max(0, now - at) / 1000);
    },
    leaseLost(queue) {
      m.lost.inc({ queue });
    },
  };
}

/**
 * Registers GET /metrics. Counts are reported for every queue the store lists (`spool.queues()`),
 * and for `queues` and those this process sees used before the store lists them (a lease of a
 * queue that never had an add).
 */
export function metricsRoute(app: FastifyInstance, context: Context, queues: readonly string[]): void {
  const registry = new Registry();
  const m = instruments(registry);
  const seen = new Set(queues);
  const unobserve = context.spool.observe(observer(m, seen));
  app.addHook('onClose', (_app, done) => {
    unobserve();
    done();
  });
  app.addHook('onError', (request, _reply, error, done) => {
    if (failure(error, context.bodyLimit, '', request.id).cause !== null)
      m.storeErrors.inc({ route: request.routeOptions.url ?? 'unknown' });
    done();
  });

  app.get(
    '/metrics',
    {
      // Prometheus' text format, not JSON: outside the OpenAPI document, described in docs/metrics.md.
      schema: { hide: true },
      // Any scope may read the figures, but they name every queue: a token limited to a prefix may not.
      config: { need: 'read', names: () => ['*'] },
    },
    async (request, reply) => {
      await readCounts(context.spool, [...seen], m, request.log);
      return reply.type(registry.contentType).send(await registry.metrics());
    },
  );
}

/** Sets the gauges from the store; when the store fails, they are left out and the failure counted. */
async function readCounts(
  spool: Spool,
  queues: readonly string[],
  m: Instruments,
  log: FastifyBaseLogger,
): Promise<void> {
  m.jobs.reset();
  m.paused.reset();
  try {
    for (const { name: queue, counts: c } of await queueCounts(spool, queues)) {
      for (const state of states) m.jobs.set({ queue, state }, c[state]);
      m.paused.set({ queue }, c.paused ? 1 : 0);
    }
  } catch (error) {
    log.error({ err: error }, 'metrics: reading counts failed');
    m.jobs.reset();
    m.paused.reset();
    m.storeErrors.inc({ route: '/metrics' });
  }
}
