// spool's own API for queues, under /v1: add, lease (long-poll), ack / nack / release / requeue / extend by token, inspect, admin.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  JobFailedError,
  LeaseLostError,
  NotFoundError,
  parseDuration,
  TimeoutError,
  ValidationError,
} from '../../index.ts';
import type { Duration, JobInfo, JobOptions, LeasedJob } from '../../index.ts';
import { Guard, scopeOf } from './auth.ts';
import { cappedWait, longPoll } from './context.ts';
import type { Context } from './context.ts';
import * as s from './schemas.ts';

interface QueueParams {
  queue: string;
}

const queueOf = (request: FastifyRequest): readonly string[] => [(request.params as QueueParams).queue];

/** A leased job as JSON: ack, nack, release, requeue or extend it with its token. */
function leasedJson(job: LeasedJob) {
  return {
    id: job.id,
    queue: job.queue,
    token: job.token,
    data: job.data,
    attempt: job.attempt,
    // Unlimited is null, as in infoJson: JSON has no Infinity.
    maxAttempts: Number.isFinite(job.maxAttempts) ? job.maxAttempts : null,
    priority: job.priority,
    createdAt: job.createdAt,
    leaseUntil: job.leaseUntil,
    leaseLeftMs: job.leaseLeftMs,
    errors: job.errors,
    // The producer's trace context, for a consumer's span to link to, as a local worker's does.
    traceparent: job.traceparent,
  };
}

/** A job as JSON: an unlimited maxAttempts is null, since JSON has no Infinity. */
export const infoJson = (job: JobInfo) => ({
  ...job,
  maxAttempts: Number.isFinite(job.maxAttempts) ? job.maxAttempts : null,
});

/** The wait route's answer from the job as it is: done (result or errors), or still to do with the wait left. */
function finished(job: JobInfo, waitedMs: number, leftMs: number) {
  if (job.state === 'completed') return { state: job.state, result: job.result };
  if (job.state === 'dead') return { state: job.state, errors: job.errors };
  // A 'forever' wait has all of it left: null, as JSON has no Infinity.
  return { state: job.state, waitedMs, leftMs: Number.isFinite(leftMs) ? leftMs : null };
}

export function nativeQueues(app: FastifyInstance, context: Context): void {
  const { spool } = context;
  const queue = (request: FastifyRequest) => spool.queue((request.params as QueueParams).queue);
  const onQueue = { need: 'read' as const, names: queueOf };

  app.post(
    '/v1/queues/:queue/jobs',
    {
      bodyLimit: context.oneJobBodyLimit,
      schema: { params: s.params('queue'), body: s.newJob, response: { 201: s.answer({ id: s.id }) } },
      config: { need: 'publish', names: queueOf },
    },
    async (request, reply) => {
      const { data, options } = request.body as { data: unknown; options?: JobOptions };
      const id = await queue(request).add(data, options);
      return reply.code(201).send({ id });
    },
  );

  app.post(
    '/v1/queues/:queue/jobs/batch',
    {
      bodyLimit: context.bodyLimit * 8,
      schema: {
        params: s.params('queue'),
        body: s.body({ jobs: { type: 'array', minItems: 1, maxItems: 10_000, items: s.newJob } }, ['jobs']),
        response: { 201: s.answer({ ids: { type: 'array', items: s.id } }) },
      },
      config: { need: 'publish', names: queueOf },
    },
    async (request, reply) => {
      const { jobs } = request.body as { jobs: { data: unknown; options?: JobOptions }[] };
      const ids = await queue(request).addBulk(jobs);
      return reply.code(201).send({ ids });
    },
  );

  app.get(
    '/v1/queues/:queue/jobs/:id',
    { schema: { params: s.params('queue', 'id') }, config: onQueue },
    async (request) => {
      const { id } = request.params as { id: string };
      const job = await queue(request).get(id);
      if (job === null) throw new NotFoundError('job', id, (request.params as QueueParams).queue);
      return infoJson(job);
    },
  );

  // Disque's "wait for a job to be done" as a long-poll: the answer names the job's state; a
  // client that wants longer than the server's limit asks again with what is `leftMs`.
  app.get(
    '/v1/queues/:queue/jobs/:id/result',
    {
      schema: {
        summary: 'Waits up to `wait` for the job to finish: its result once acked, its errors once dead',
        params: s.params('queue', 'id'),
        querystring: s.body({ wait: s.wait }, []),
      },
      config: onQueue,
    },
    async (request, reply) => {
      const { id, queue: name } = request.params as QueueParams & { id: string };
      const { wait = 0 } = request.query as { wait?: Duration };
      // 'forever' means as long as this server lets a request wait, as for a lease.
      const askedMs = parseDuration(wait, 'wait', { forever: true });
      const waitMs = cappedWait(context, askedMs);
      const q = queue(request);
      // The job must be this queue's: a token for the queue's prefix may not read other queues' results.
      const before = await q.get(id);
      if (before === null) throw new NotFoundError('job', id, name);
      if (before.state === 'completed' || before.state === 'dead' || waitMs === 0) return finished(before, 0, askedMs);
      const started = performance.now();
      const { value } = await longPoll(context, reply, (signal) =>
        q.waitFor(id, { timeout: waitMs, signal }).then(
          (result) => ({ state: 'completed' as const, result }),
          (error: unknown) => {
            if (error instanceof JobFailedError) return { state: 'dead' as const, errors: error.errors };
            if (error instanceof TimeoutError || signal.aborted) return null;
            throw error;
          },
        ),
      );
      if (value !== null) return value;
      // Time out or shutdown: the wait ran for waitedMs of the askedMs.
      const waitedMs = Math.min(waitMs, Math.round(performance.now() - started));
      const now = await q.get(id);
      if (now === null) throw new NotFoundError('job', id, name);
      return finished(now, waitedMs, context.closing.aborted ? askedMs - waitedMs : askedMs - waitMs);
    },
  );

  app.delete(
    '/v1/queues/:queue/jobs/:id',
    { schema: { params: s.params('queue', 'id') }, config: { need: 'admin', names: queueOf } },
    async (request) => ({ removed: await queue(request).remove((request.params as { id: string }).id) }),
  );

  app.post(
    '/v1/queues/:queue/jobs/:id/cancel',
    { schema: { params: s.params('queue', 'id') }, config: { need: 'admin', names: queueOf } },
    async (request) => ({ cancelled: await queue(request).cancel((request.params as { id: string }).id) }),
  );

  app.get(
    '/v1/queues/:queue/peek',
    {
      schema: {
        summary: `The next \`n\` waiting jobs in lease order (default 1, at most ${s.maxPage})`,
        params: s.params('queue'),
        querystring: s.body({ n: s.page }, []),
      },
      config: onQueue,
    },
    async (request) => {
      const { n = '1' } = request.query as { n?: string };
      const size = s.pageSize(n, 'querystring.n', 'GET /v1/queues/{queue}/jobs?state=waiting lists them page by page');
      return { jobs: (await queue(request).peek(size)).map(infoJson) };
    },
  );

  app.get('/v1/queues/:queue/counts', { schema: { params: s.params('queue') }, config: onQueue }, (request) =>
    queue(request).counts(),
  );

  app.get(
    '/v1/queues/:queue/dead',
    {
      schema: {
        params: s.params('queue'),
        summary: `Dead jobs, \`limit\` at a time (default 100, at most ${s.maxPage}); \`cursor\` from the last page`,
        querystring: s.body({ limit: s.page, cursor: { type: 'string', maxLength: 200 } }, []),
      },
      config: onQueue,
    },
    async (request) => {
      const { limit = '100', cursor = null } = request.query as { limit?: string; cursor?: string };
      const page = await queue(request).dead({ limit: s.pageSize(limit, 'querystring.limit'), cursor });
      return { jobs: page.jobs.map(infoJson), cursor: page.cursor };
    },
  );

  app.post(
    '/v1/queues/:queue/dead/retry',
    {
      schema: {
        params: s.params('queue'),
        body: s.body({ ids: { type: 'array', maxItems: 10_000, items: s.name } }, []),
      },
      config: { need: 'admin', names: queueOf },
      // No body means every dead job: an absent body is validated as an empty one.
      preValidation: (request, _reply, done) => {
        request.body ??= {};
        done();
      },
    },
    async (request) => {
      const { ids } = (request.body ?? {}) as { ids?: string[] };
      return { retried: await queue(request).retryDead(ids) };
    },
  );

  for (const [action, run] of [
    ['purge', async (request: FastifyRequest) => ({ purged: await queue(request).purge() })],
    ['pause', async (request: FastifyRequest) => (await queue(request).pause(), { paused: true })],
    ['resume', async (request: FastifyRequest) => (await queue(request).resume(), { paused: false })],
  ] as const) {
    app.post(
      `/v1/queues/:queue/${action}`,
      { schema: { params: s.params('queue') }, config: { need: 'admin', names: queueOf } },
      run,
    );
  }

  app.post(
    '/v1/lease',
    {
      schema: {
        body: s.body(
          {
            queues: { type: 'array', minItems: 1, maxItems: 100, items: s.name },
            max: { type: 'integer', minimum: 1, maximum: 1000 },
            visibility: s.duration,
            wait: s.wait,
          },
          ['queues'],
        ),
      },
      config: { need: 'consume', names: (request) => (request.body as { queues: string[] }).queues },
    },
    async (request, reply) => {
      const body = request.body as { queues: string[]; max?: number; visibility?: Duration; wait?: Duration };
      const wait = cappedWait(
        context,
        // 'forever' means as long as this server lets a request wait.
        body.wait === undefined ? 0 : parseDuration(body.wait, 'wait', { forever: true }),
      );
      const { value: jobs, gone } = await longPoll(context, reply, (signal) =>
        spool.lease({ queues: body.queues, max: body.max, visibility: body.visibility, wait, signal }),
      );
      // The client left while waiting: hand the jobs back instead of letting their leases run out.
      if (gone) await Promise.allSettled(jobs.map((job) => job.release()));
      return { jobs: jobs.map(leasedJson) };
    },
  );

  // Acting on a lease by token: the token names the job, whose queue the token's prefix must reach. A job
  // outside it answers as a lease the caller does not hold, whether it is active or not (issue
  // 20: 403 when active and 409 otherwise told a consumer the state of another tenant's job).
  const leased = async (request: FastifyRequest, token: string) => {
    const job = await spool.leased(token);
    if (!Guard.sees(request.principal, job.queue)) throw new LeaseLostError(token);
    return job;
  };
  const leasedOf = (request: FastifyRequest) => leased(request, (request.body as { token: string }).token);

  app.post(
    '/v1/ack',
    { schema: { body: s.body({ token: s.token, result: {} }, ['token']) }, config: { need: 'consume' } },
    async (request) => {
      await (await leasedOf(request)).ack((request.body as { result?: unknown }).result);
      return { ok: true };
    },
  );

  // Many leases at once, each fenced by its own token: a consumer that leased a batch acks it in one request.
  app.post(
    '/v1/ack/batch',
    {
      // A batch route as the others: spool/client's worker acks here, each with its handler's result,
      // which may be as large as a job's data (a payload near maxPayloadBytes, 1 MiB, was a 413 and
      // its job never completed remotely, where a local ack takes it).
      bodyLimit: context.bodyLimit * 8,
      schema: {
        summary:
          'Acks the leases of the batch that the caller holds, named by `tokens`, or by `acks` with a result ' +
          'each; a token it does not hold (lost, bad, outside its prefix) is named in `lost` and touches nothing',
        body: s.body(
          {
            tokens: { type: 'array', minItems: 1, maxItems: 1000, items: s.token },
            acks: {
              type: 'array',
              minItems: 1,
              maxItems: 1000,
              items: s.body({ token: s.token, result: {} }, ['token']),
            },
          },
          [],
        ),
        response: { 200: s.answer({ acked: { type: 'integer' }, lost: { type: 'array', items: s.token } }) },
      },
      config: { need: 'consume' },
    },
    async (request) => {
      const body = request.body as { tokens?: string[]; acks?: { token: string; result?: unknown }[] };
      if ((body.tokens === undefined) === (body.acks === undefined))
        throw new ValidationError('body', 'must have tokens or acks, not both');
      const tokens = body.tokens ?? (body.acks ?? []).map((ack) => ack.token);
      const results = body.acks?.map((ack) => ack.result);
      // One store call, which checks every token against the caller's prefix in the same atomic
      // step as the acks (issue 20: a foreign token answered 403 after the caller's own leases
      // were acked). One outside it is reported like a lost lease, so the answer tells nothing of
      // another scope's jobs; a malformed token refuses the batch before anything is acked.
      const scope = request.principal === null ? undefined : scopeOf(request.principal.prefix);
      return spool.ack(tokens, {
        ...(scope !== undefined && { within: scope }),
        ...(results !== undefined && { results }),
      });
    },
  );

  app.post(
    '/v1/nack',
    {
      schema: {
        body: s.body(
          { token: s.token, delay: s.duration, error: { type: 'string', maxLength: 2000 }, dead: { type: 'boolean' } },
          ['token'],
        ),
      },
      config: { need: 'consume' },
    },
    async (request) => {
      const body = request.body as { delay?: Duration; error?: string; dead?: boolean };
      // The value before the lease: a bad one is a 400 whatever the token, not LEASE_LOST for an unknown one.
      const delay = body.delay === undefined ? undefined : parseDuration(body.delay, 'delay');
      const job = await leasedOf(request);
      if (body.dead === true) {
        await job.fail(body.error);
        return { outcome: 'dead' };
      }
      return { outcome: await job.nack({ delay, error: body.error }) };
    },
  );

  app.post(
    '/v1/release',
    { schema: { body: s.body({ token: s.token }, ['token']) }, config: { need: 'consume' } },
    async (request) => {
      await (await leasedOf(request)).release();
      return { ok: true };
    },
  );

  app.post(
    '/v1/requeue',
    { schema: { body: s.body({ token: s.token }, ['token']) }, config: { need: 'consume' } },
    async (request) => ({ outcome: await (await leasedOf(request)).requeue() }),
  );

  app.post(
    '/v1/extend',
    { schema: { body: s.body({ token: s.token, ms: s.duration }, ['token']) }, config: { need: 'consume' } },
    async (request) => {
      const { ms } = request.body as { ms?: Duration };
      // As a nack's delay: checked before the lease is looked up.
      const extendMs = ms === undefined ? undefined : parseDuration(ms, 'ms', { positive: true });
      const job = await leasedOf(request);
      return { leaseUntil: await job.extend(extendMs), leaseLeftMs: job.leaseLeftMs };
    },
  );
}
