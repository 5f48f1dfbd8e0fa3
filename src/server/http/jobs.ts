// The dashboard's job routes (issue 18): a queue's jobs by state a page at a time, a bounded
// payload search, and actions on one job, a selection, or every job matching a filter.
//
// Nothing here asks the store for more than one page per call: a search reads `searchChunk`
// jobs per store call and stops after `searchBudget` jobs or `searchMs`, answering with a cursor
// to go on from (Asynqmon's queue page ran one Lua script over the whole queue and blocked Redis
// for seconds, hibiken/asynq#1160). A bulk action walks the matches the same way, a page per call.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { NotFoundError, ValidationError } from '../../index.ts';
import type { JobInfo, JobState, Queue, Spool } from '../../index.ts';
import type { Context } from './context.ts';
import { infoJson } from './native-queues.ts';
import * as s from './schemas.ts';

const states = ['waiting', 'delayed', 'active', 'dead', 'completed'] as const;
/**
 * Jobs read per store call while searching. On a remote store (Redis) a page is one command that
 * other clients wait behind: 100 jobs keep it to a few ms. In this process (file, memory) a page
 * costs mostly the walk to its cursor, so fewer, longer pages.
 */
const searchChunk = (spool: Spool): number => (spool.capabilities.remote ? 100 : 1000);
/** Jobs one search request reads at most before it answers with a cursor to go on from. */
export const searchBudget = 5_000;
/** Time one search request spends at most before it answers with a cursor. */
const searchMs = 150;
/** Jobs acted on at once by a bulk action: concurrent removes share the store's commits. */
const actionChunk = 200;

export const bulkActions = ['retry', 'promote', 'remove'] as const;
type BulkAction = (typeof bulkActions)[number];
/** The one state whose jobs an action takes, or null for any state. */
const bulkStates: Readonly<Record<BulkAction, JobState | null>> = { retry: 'dead', promote: 'delayed', remove: null };

interface QueueParams {
  queue: string;
}

/** Whether `job`'s payload, as JSON text, holds `needle` (already lower case). */
function matches(job: JobInfo, needle: string): boolean {
  const text = typeof job.data === 'string' ? job.data : JSON.stringify(job.data);
  return text !== undefined && text.toLowerCase().includes(needle);
}

export interface SearchPage {
  readonly jobs: readonly JobInfo[];
  /** Where to go on from; null when the state's jobs are all read. */
  readonly cursor: string | null;
  /** Jobs read to find these. */
  readonly scanned: number;
}

/**
 * The jobs in `state` whose payload holds `query`, from `cursor` on: at least `limit` of them,
 * or fewer when the budget ran out or the list ended. An empty query matches every job.
 */
export async function search(
  queue: Queue,
  chunk: number,
  state: JobState,
  query: string,
  cursor: string | null,
  limit: number,
): Promise<SearchPage> {
  if (query === '') {
    const page = await queue.list(state, { limit, cursor });
    return { jobs: page.jobs, cursor: page.cursor, scanned: page.jobs.length };
  }
  const needle = query.toLowerCase();
  const started = performance.now();
  const found: JobInfo[] = [];
  let scanned = 0;
  let at = cursor;
  do {
    const page = await queue.list(state, { limit: chunk, cursor: at });
    scanned += page.jobs.length;
    for (const job of page.jobs) if (matches(job, needle)) found.push(job);
    at = page.cursor;
  } while (at !== null && found.length < limit && scanned < searchBudget && performance.now() - started < searchMs);
  return { jobs: found, cursor: at, scanned };
}

/** Every id matching the filter, read a page per store call. */
async function matchingIds(queue: Queue, chunk: number, state: JobState, query: string): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | null = null;
  do {
    const page = await search(queue, chunk, state, query, cursor, s.maxPage);
    for (const job of page.jobs) ids.push(job.id);
    cursor = page.cursor;
  } while (cursor !== null);
  return ids;
}

/** Applies `action` to `ids`, a chunk at a time; resolves with how many it changed. */
async function apply(queue: Queue, action: BulkAction, ids: readonly string[]): Promise<number> {
  let done = 0;
  for (let i = 0; i < ids.length; i += actionChunk) {
    const chunk = ids.slice(i, i + actionChunk);
    if (action === 'retry') done += await queue.retryDead(chunk);
    else if (action === 'promote') done += await queue.promoteDelayed(chunk);
    else {
      const removed = await Promise.all(chunk.map((id) => queue.remove(id).catch(notFound)));
      done += removed.filter(Boolean).length;
    }
  }
  return done;
}

/** A job gone between the listing and the action counts as not changed. */
function notFound(error: unknown): false {
  if (error instanceof NotFoundError) return false;
  throw error;
}

export function jobRoutes(app: FastifyInstance, context: Context): void {
  const { spool } = context;
  const chunk = searchChunk(spool);
  const queue = (request: FastifyRequest) => spool.queue((request.params as QueueParams).queue);
  const queueOf = (request: FastifyRequest): readonly string[] => [(request.params as QueueParams).queue];

  app.get(
    '/v1/queues/:queue/jobs',
    {
      schema: {
        summary:
          `Jobs in \`state\`, \`limit\` at a time (default 50, at most ${s.maxPage}). With \`q\`, only those whose ` +
          `payload (as JSON text) holds it, case-insensitively: one request reads at most ${searchBudget} jobs, so ` +
          'it may answer fewer than `limit` with a `cursor` to search on from',
        params: s.params('queue'),
        querystring: s.body(
          {
            state: { enum: states },
            limit: s.page,
            cursor: { type: 'string', maxLength: 200 },
            q: { type: 'string', maxLength: 200 },
          },
          ['state'],
        ),
      },
      config: { need: 'read', names: queueOf },
    },
    async (request) => {
      const q = request.query as { state: JobState; limit?: string; cursor?: string; q?: string };
      const limit = s.pageSize(q.limit ?? '50', 'querystring.limit');
      const page = await search(queue(request), chunk, q.state, q.q ?? '', q.cursor ?? null, limit);
      return { jobs: page.jobs.map(infoJson), cursor: page.cursor, scanned: page.scanned };
    },
  );

  app.post(
    '/v1/queues/:queue/jobs/:id/retry',
    {
      schema: { summary: 'A dead job back to waiting with fresh attempts', params: s.params('queue', 'id') },
      config: { need: 'admin', names: queueOf },
    },
    async (request) => {
      const { id } = request.params as { id: string };
      const retried = await queue(request).retryDead([id]);
      if (retried === 0)
        throw new NotFoundError('job', id, (request.params as QueueParams).queue, 'no dead job by this id');
      return { retried };
    },
  );

  app.post(
    '/v1/queues/:queue/jobs/:id/promote',
    {
      schema: { summary: 'A delayed job made due now', params: s.params('queue', 'id') },
      config: { need: 'admin', names: queueOf },
    },
    async (request) => {
      await queue(request).promote((request.params as { id: string }).id);
      return { promoted: 1 };
    },
  );

  app.post(
    '/v1/queues/:queue/jobs/bulk',
    {
      schema: {
        summary:
          'Applies `action` to the jobs named by `ids`, or else to every job in `state` whose payload holds `q` ' +
          '(every job in `state` without `q`); retry takes dead jobs only, promote delayed ones',
        params: s.params('queue'),
        body: s.body(
          {
            action: { enum: bulkActions },
            state: { enum: states },
            q: { type: 'string', maxLength: 200 },
            ids: { type: 'array', minItems: 1, maxItems: 10_000, items: s.name },
          },
          ['action', 'state'],
        ),
      },
      config: { need: 'admin', names: queueOf },
    },
    async (request) => {
      const body = request.body as { action: BulkAction; state: JobState; q?: string; ids?: string[] };
      const needs = bulkStates[body.action];
      if (needs !== null && body.state !== needs)
        throw new ValidationError('body.state', `${body.action} takes ${needs} jobs: state must be '${needs}'`);
      const q = queue(request);
      // Every dead job, or every delayed one, at once is the store's own single call.
      if (body.ids === undefined && (body.q ?? '') === '') {
        if (body.action === 'retry') return { changed: await q.retryDead() };
        if (body.action === 'promote') return { changed: await q.promoteDelayed() };
        if (body.state === 'dead') return { changed: await q.removeDead() };
      }
      const ids = body.ids ?? (await matchingIds(q, chunk, body.state, body.q ?? ''));
      return { changed: await apply(q, body.action, ids) };
    },
  );
}
