// The commands that act on jobs named by id, not by a lease's token: ACKJOB, FASTACK, NACK,
// ENQUEUE, DEQUEUE, WORKING, DELJOB. Each checks every id before touching any (Disque's -BADID).
import { LeaseLostError, NotFoundError } from '../../index.ts';
import type { JobInfo, LeasedJob, Spool } from '../../index.ts';
import type { Need } from '../http/auth.ts';
import { allow, badId, spoolIds } from './context.ts';
import { fromDisqueId, isDisqueId } from './job-id.ts';
import type { Call, Command } from './context.ts';
import { ReplyError } from './reply.ts';
import type { Reply } from './reply.ts';

/** A look and an act on a job can race another consumer: the act is tried this many times, looking again each time. */
const tries = 3;

interface Handle {
  readonly job: JobInfo;
  /** The job's current lease; LeaseLostError when it moved on since the look. */
  readonly lease: () => Promise<LeasedJob>;
  /** Removes it in any state; NotFoundError when it is gone since the look. */
  readonly remove: () => Promise<boolean>;
}

type Act = (handle: Handle) => Promise<boolean>;

/** The job's current lease; LeaseLostError when it is not leased now. */
async function leaseOf(spool: Spool, id: string): Promise<LeasedJob> {
  const lease = await spool.currentLease(id);
  if (lease === null) throw new LeaseLostError(id);
  return lease;
}

type Leased = (lease: LeasedJob) => Promise<boolean>;

const one = (done: boolean): number => (done ? 1 : 0);

/**
 * Does `act` to the job each id names, looking again when it changed under it; counts the trues.
 * The ids are done at once, not one after another, so that their acks share one store call.
 */
function countingById(need: Need, act: Act, leased?: Leased): Command['run'] {
  return (call: Call) => {
    const { args } = call;
    // One id, as a consumer acks after each GETJOB: no Set, no Promise.all (issue 17).
    if (args.length === 1)
      return byWrittenId(call, (args[0] as Buffer).toString('latin1'), need, act, leased).then(one);
    // Every id is checked before any is touched; one named twice is done once, and counted once, as Disque does.
    const written = [...new Set(args.map((arg) => arg.toString('latin1')))];
    if (!written.every(isDisqueId)) throw badId();
    return Promise.all(written.map((w) => byWrittenId(call, w, need, act, leased))).then(
      (done) => done.filter(Boolean).length,
    );
  };
}

/**
 * `byId` for an id as the client wrote it. The lease this connection was handed under that very
 * id is acted on without decoding the id (issue 17); any other id is decoded (-BADID when it is
 * not one).
 */
function byWrittenId(call: Call, written: string, need: Need, act: Act, leased: Leased | undefined): Promise<boolean> {
  // Whatever is done to the job, a lease this connection was handed for it is of no more use.
  const handed = call.session.handedOut.take(written);
  if (handed === undefined) return byId(call, checkedId(written), undefined, need, act, leased);
  if (leased === undefined) return byId(call, handed.id, undefined, need, act, leased);
  try {
    allow(call, need, [handed.queue]);
  } catch (error) {
    // A rejection, as from byId: the other ids of the command are still done.
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
  return leased(handed).catch((error: unknown) => {
    if (!(error instanceof LeaseLostError)) throw error;
    // Lost since: the job's current lease, if any, is asked for.
    return byId(call, handed.id, undefined, need, act, leased, 1);
  });
}

/** Spool's id in a Disque id (null when it names no job here); -BADID when it is not one. */
function checkedId(written: string): string | null {
  if (!isDisqueId(written)) throw badId();
  return fromDisqueId(written);
}

/**
 * Whether `act` (or `leased`, on the job's lease) was done to job `id`. `handed`: the lease this
 * connection was handed for it, tried first; `from`: tries already spent.
 */
async function byId(
  call: Call,
  id: string | null,
  handed: LeasedJob | undefined,
  need: Need,
  act: Act,
  leased: Leased | undefined,
  from = 0,
): Promise<boolean> {
  if (id === null) return false;
  const { spool } = call.server;
  for (let i = from; i < tries; i++) {
    try {
      // A job handed out, as most that consumers name are: its lease is all there is to read,
      // and the one this connection was handed is most likely it (a lost one fails, and is asked for again).
      const lease =
        leased === undefined ? null : i === from && handed !== undefined ? handed : await spool.currentLease(id);
      if (lease !== null) {
        allow(call, need, [lease.queue]);
        return await (leased as Leased)(lease);
      }
      const job = await spool.job(id);
      if (job === null) return false;
      allow(call, need, [job.queue]);
      const handle: Handle = {
        job,
        lease: () => leaseOf(spool, job.id),
        remove: () => spool.queue(job.queue).remove(job.id),
      };
      return await act(handle);
    } catch (error) {
      if (!(error instanceof LeaseLostError || error instanceof NotFoundError)) throw error;
    }
  }
  return false;
}

/**
 * ACKJOB and FASTACK: done, whatever its state (the seed's consumer NACKs then ACKs). A leased
 * job is acked, so `waitFor` and the HTTP wait route see it complete; any other job is removed.
 * A completed job is not counted: Disque counts jobs not already acked. A dead one is removed: it
 * is how a RETRY 0 job that was delivered once ends.
 */
const ack: Act = async ({ job, lease, remove }) => {
  if (job.state === 'completed') return false;
  if (job.state !== 'active') return remove();
  await (await lease()).ack();
  return true;
};

const yes = (): boolean => true;

const ackLease: Leased = (lease) => lease.ack().then(yes);

/**
 * NACK: back in line at once, counted in the job's nacks. Jobs added over RESP have no attempt
 * limit (Disque jobs live until their TTL); a job added with one goes dead when it is used up.
 */
const nack: Act = async ({ job, lease }) => {
  if (job.state !== 'active') return false;
  return (await (await lease()).nack({ delay: 0 })) === 'retry';
};

/** ENQUEUE: a leased job back in line untouched, as if it had not been handed out. */
const enqueue: Act = async ({ job, lease }) => {
  if (job.state !== 'active') return false;
  await (await lease()).release();
  return true;
};

const deljob: Act = ({ remove }) => remove();

/**
 * WORKING id: the lease runs for another RETRY from now; answers RETRY in seconds (0 for a job
 * that is not handed out: nothing was postponed).
 */
async function working(call: Call): Promise<Reply> {
  const [id] = spoolIds(call.args) as [string | null];
  const { spool } = call.server;
  for (let i = 0; i < tries; i++) {
    const job = id === null ? null : await spool.job(id);
    if (job === null || job.state === 'completed')
      throw new ReplyError('NOJOB', 'Job not known in the context of this node.');
    allow(call, 'consume', [job.queue]);
    const now = Date.now();
    if (job.expiresAt !== null && now - job.createdAt > (job.expiresAt - job.createdAt) / 2)
      throw new ReplyError(
        'TOOLATE',
        'Half of job TTL already elapsed, you are no longer allowed to postpone the next delivery.',
      );
    if (job.state !== 'active') return 0;
    try {
      const leaseUntil = await (await leaseOf(spool, job.id)).extend();
      return Math.round((leaseUntil - now) / 1000);
    } catch (error) {
      if (!(error instanceof LeaseLostError)) throw error;
    }
  }
  return 0;
}

/**
 * DEQUEUE: queued jobs out of line, not handed out; each is queued again after its RETRY, as
 * Disque requeues an active job (`Spool.hold`). Jobs in any other state are not counted.
 */
async function dequeue(call: Call): Promise<Reply> {
  const { spool } = call.server;
  const ids = spoolIds(call.args).filter((id): id is string => id !== null);
  const jobs = await Promise.all(ids.map((id) => spool.job(id)));
  const waiting = jobs.filter((job): job is JobInfo => job?.state === 'waiting');
  allow(call, 'consume', [...new Set(waiting.map((job) => job.queue))]);
  return (await spool.hold(waiting.map((job) => job.id))).length;
}

export const byIdCommands: Readonly<Record<string, Command>> = {
  ackjob: { arity: -1, overlaps: true, run: countingById('consume', ack, ackLease) },
  fastack: { arity: -1, overlaps: true, run: countingById('consume', ack, ackLease) },
  nack: { arity: -1, run: countingById('consume', nack) },
  enqueue: { arity: -1, run: countingById('consume', enqueue) },
  deljob: { arity: -1, run: countingById('admin', deljob) },
  working: { arity: 2, run: working },
  dequeue: { arity: -1, run: dequeue },
};
