// Looking at jobs and queues without taking them: SHOW, QLEN, QPEEK, QSTAT, and PAUSE.
import type { Counts, JobInfo } from '../../index.ts';
import { integerArg, text, word } from './args.ts';
import { allow, bodyOf, disqueId, queueOf, spoolIds } from './context.ts';
import type { Call, Command, Server } from './context.ts';
import { nullArray, status, syntaxError } from './reply.ts';
import type { Reply } from './reply.ts';

/** Most jobs one QPEEK shows; Disque has no bound, a reply of millions of jobs is not useful. */
export const maxPeek = 10_000;

/**
 * Disque's job states: queued (leasable now) and active (handed out, or not yet due). A
 * completed job counts as gone, as an acked one is on a single Disque node: clients such as
 * the seed's `Wait` poll SHOW until it answers nil.
 */
export function disqueState(job: JobInfo): 'queued' | 'active' | null {
  if (job.state === 'completed') return null;
  return job.state === 'waiting' ? 'queued' : 'active';
}

/** Deliveries past the first that no NACK asked for (the lease ran out, ENQUEUE). */
export function additionalDeliveries(attempts: number, nacks: number, active: boolean): number {
  return Math.max(0, attempts - nacks - (active ? 1 : 0));
}

/** SHOW's 30 elements, in Disque's order (clients index them by position). */
export function showReply(server: Server, job: JobInfo, state: string): Reply {
  const now = server.spool.clock.now();
  const ttlS = job.expiresAt === null ? -1 : Math.max(0, Math.round((job.expiresAt - now) / 1000));
  return [
    'id',
    disqueId(server, job),
    'queue',
    job.queue,
    'state',
    state,
    'repl',
    1,
    'ttl',
    ttlS,
    'ctime',
    // Disque's ctime is ms × 10^6 (unique per job there); past 2^53, so an exact integer.
    BigInt(job.createdAt) * 1_000_000n,
    'delay',
    Math.max(0, Math.round((job.runAt - job.createdAt) / 1000)),
    // RETRY 0 (at most once) is a single attempt whose lease outlives the TTL: see ADDJOB.
    'retry',
    job.maxAttempts === 1 ? 0 : Math.round(job.visibilityMs / 1000),
    'nacks',
    job.nacks,
    'additional-deliveries',
    additionalDeliveries(job.attempts, job.nacks, job.state === 'active'),
    'nodes-delivered',
    [server.node.id],
    'nodes-confirmed',
    [],
    'next-requeue-within',
    job.leaseUntil === null ? null : Math.max(0, job.leaseUntil - now),
    'next-awake-within',
    job.state === 'delayed' ? Math.max(0, job.runAt - now) : null,
    'body',
    bodyOf(job.data),
  ];
}

async function show(call: Call): Promise<Reply> {
  const [id] = spoolIds(call.args) as [string | null];
  const job = id === null ? null : await call.server.spool.job(id);
  const state = job === null ? null : disqueState(job);
  if (job === null || state === null) return null;
  allow(call, 'read', [job.queue]);
  return showReply(call.server, job, state);
}

function queueArg(call: Call, need: 'read' | 'admin' = 'read') {
  const queue = queueOf(call.server, text(call.args[0] as Buffer));
  allow(call, need, [queue.name]);
  return queue;
}

async function qlen(call: Call): Promise<Reply> {
  return (await queueArg(call).counts()).waiting;
}

async function qpeek(call: Call): Promise<Reply> {
  const queue = queueArg(call);
  const count = integerArg(call.args[1]);
  if (count === 0) return [];
  const newestFirst = count < 0;
  const wanted = Math.min(Math.abs(count), maxPeek);
  const n = newestFirst ? Math.min(maxPeek, (await queue.counts()).waiting) : wanted;
  if (n === 0) return [];
  const jobs = await queue.peek(n);
  const picked = newestFirst ? jobs.reverse().slice(0, wanted) : jobs;
  return picked.map((job) => [job.queue, disqueId(call.server, job), bodyOf(job.data)]);
}

type Pause = 'none' | 'in' | 'out' | 'all';

function pauseName(input: boolean, output: boolean): Pause {
  return input && output ? 'all' : input ? 'in' : output ? 'out' : 'none';
}

/** A queue nothing was ever added to and that is not paused. */
const unknownQueue = (c: Counts): boolean =>
  !c.paused && c.waiting + c.delayed + c.active + c.dead + c.completed + c.expired === 0;

async function qstat(call: Call): Promise<Reply> {
  const queue = queueArg(call);
  const counts = await queue.counts();
  const { pausedIn: pausedInput, queues } = call.server;
  const pausedIn = pausedInput.has(queue.name);
  // Disque knows a queue once named by ADDJOB, GETJOB or PAUSE, until it is empty and idle.
  if (unknownQueue(counts) && !pausedIn && !queues.has(queue.name)) return nullArray;
  const stat = queues.stat(queue.name);
  return [
    'name',
    queue.name,
    'len',
    counts.waiting,
    'age',
    stat.ageS,
    'idle',
    stat.idleS,
    'blocked',
    stat.blocked,
    'import-from',
    [],
    'import-rate',
    0,
    // This node's jobs, as Disque counts them per node.
    'jobs-in',
    stat.jobsIn,
    'jobs-out',
    stat.jobsOut,
    'pause',
    pauseName(pausedIn, counts.paused),
  ];
}

/** PAUSE queue in|out|all|none|state|bcast …: `out` is spool's pause (every process sees it), `in` this node's. */
async function pause(call: Call): Promise<Reply> {
  let input = false;
  let output = false;
  let update = false;
  for (const arg of call.args.slice(1)) {
    const opt = word(arg);
    if (opt === 'none') [input, output, update] = [false, false, true];
    else if (opt === 'in' || opt === 'all') [input, update] = [true, true];
    if (opt === 'out' || opt === 'all') [output, update] = [true, true];
    else if (!['none', 'in', 'state', 'bcast'].includes(opt)) throw syntaxError();
  }
  const queue = queueArg(call, update ? 'admin' : 'read');
  const { pausedIn, queues } = call.server;
  queues.seen(queue.name);
  if (update) {
    if (input) pausedIn.add(queue.name);
    else pausedIn.delete(queue.name);
    await (output ? queue.pause() : queue.resume());
  }
  const counts = await queue.counts();
  return status(pauseName(pausedIn.has(queue.name), counts.paused));
}

export const inspectCommands: Readonly<Record<string, Command>> = {
  show: { arity: 2, run: show },
  qlen: { arity: 2, run: qlen },
  qpeek: { arity: 3, run: qpeek },
  qstat: { arity: 2, run: qstat },
  pause: { arity: -3, run: pause },
};
