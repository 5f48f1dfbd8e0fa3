// GETJOB [NOHANG] [TIMEOUT ms] [COUNT n] [WITHCOUNTERS] FROM queue …: blocks by default, takes
// the queues left to right. The lease is spool's: a job not acked within its RETRY (the lease's
// visibility) is handed out again, counted as an additional delivery.
import type { LeasedJob } from '../../index.ts';
import { integerOf, text, timeoutArg, word } from './args.ts';
import { allow, bodyOf, disqueId, queueOf } from './context.ts';
import type { Call, Command, Session } from './context.ts';
import { additionalDeliveries } from './inspect.ts';
import { LastParse } from './parsed-args.ts';
import type { QueueActivity } from './queue-activity.ts';
import { nullArray, ReplyError, syntaxError } from './reply.ts';
import type { Reply } from './reply.ts';

interface GetArgs {
  noHang: boolean;
  /** 0: wait for ever. */
  timeoutMs: number;
  count: number;
  withCounters: boolean;
  queues: string[];
}

/** Each connection's last GETJOB parse: a consumer sends the same one over and over. */
const lastParses = new WeakMap<Session, LastParse<Readonly<GetArgs>>>();

function parsed(call: Call): Readonly<GetArgs> {
  let last = lastParses.get(call.session);
  if (last === undefined) lastParses.set(call.session, (last = new LastParse(parse)));
  return last.of(call.args);
}

function parse(args: readonly Buffer[]): Readonly<GetArgs> {
  const parsed: GetArgs = { noHang: false, timeoutMs: 0, count: 1, withCounters: false, queues: [] };
  for (let i = 0; i < args.length; i++) {
    const name = word(args[i]);
    const last = i === args.length - 1;
    if (name === 'nohang') parsed.noHang = true;
    else if (name === 'withcounters') parsed.withCounters = true;
    else if (name === 'timeout' && !last) parsed.timeoutMs = timeoutArg(args[++i]);
    else if (name === 'count' && !last) {
      const n = integerOf(args[++i]);
      if (n === null || n <= 0) throw new ReplyError('ERR', 'COUNT must be a number greater than zero');
      parsed.count = n;
    } else if (name === 'from' && !last) {
      parsed.queues = args.slice(i + 1).map(text);
      break;
    } else throw syntaxError();
  }
  if (parsed.queues.length === 0) throw syntaxError();
  return parsed;
}

/** Disque's job triple under the job's Disque id `id`, with its two counters under WITHCOUNTERS. */
export function jobReply(job: LeasedJob, id: string, withCounters: boolean): Reply {
  const body = bodyOf(job.data);
  if (!withCounters) return [job.queue, id, body];
  const deliveries = additionalDeliveries(job.attempt, job.nacks, true);
  return [job.queue, id, body, 'nacks', job.nacks, 'additional-deliveries', deliveries];
}

async function getjob(call: Call): Promise<Reply> {
  const a = parsed(call);
  const { spool, queues, maxWaitMs } = call.server;
  allow(call, 'consume', a.queues);
  // Checked before seen: a name no queue can have, once seen, would fail QSCAN, JSCAN and INFO.
  for (const q of a.queues) queues.seen(queueOf(call.server, q).name);
  const { signal } = call.session;
  // Counted down by the waits themselves, each of which ends on elapsed time: a deadline on the
  // spool's wall clock made a GETJOB TIMEOUT 2000 wait another hour after the clock stepped back.
  let leftMs = a.timeoutMs === 0 ? Infinity : a.timeoutMs;
  // Spool takes each queue dry before the next; Disque takes COUNT > 1 one per queue per round,
  // which only differs when a consumer asks for several jobs over several queues at once.
  for (;;) {
    const wait = a.noHang ? 0 : Math.min(maxWaitMs, leftMs);
    const unblock = wait > 0 ? queues.block(a.queues) : null;
    let jobs: LeasedJob[];
    try {
      jobs = await spool.lease({ queues: a.queues, max: Math.min(a.count, 1000), wait, signal });
    } finally {
      unblock?.();
    }
    // The client left (or the server is closing) while waiting: hand the jobs back instead of
    // letting their leases run out.
    if (signal.aborted) {
      await Promise.allSettled(jobs.map((job) => job.release()));
      return nullArray;
    }
    if (jobs.length > 0) {
      countDelivered(queues, jobs);
      return jobs.map((job) => {
        const id = disqueId(call.server, job);
        call.session.handedOut.remember(job, id);
        return jobReply(job, id, a.withCounters);
      });
    }
    // No jobs and no abort: the lease waited all of `wait`.
    leftMs -= wait;
    if (a.noHang || signal.aborted || leftMs <= 0) return nullArray;
  }
}

/** Counts the jobs out of each queue, once for each run of one queue: mostly all come from the first. */
function countDelivered(queues: QueueActivity, jobs: readonly LeasedJob[]): void {
  let from = 0;
  for (let i = 1; i <= jobs.length; i++) {
    const queue = (jobs[from] as LeasedJob).queue;
    if (i < jobs.length && (jobs[i] as LeasedJob).queue === queue) continue;
    queues.delivered(queue, i - from);
    from = i;
  }
}

export const getjobCommand: Command = { arity: -2, run: getjob };
