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
  /** Makes it due now if it is delayed (held by DEQUEUE, or added with DELAY). */
  readonly promote: () => Promise<boolean>;
}

type Act = (handle: Handle) => Promise<boolean>;

/** The job's current lease; LeaseLostError when it is not leased now. */
async function leaseOf(spool: Spool, id: string): Promise<LeasedJob> {
  const lease = await spool.currentLease(id);
  if (lease === null) throw new LeaseLostError(id);
  return lease;
}

/**
 * Acts on leases the store holds now, all at once (ACKJOB's acks in one store call): answers the
 * ones lost since (their RETRY ran out, and another consumer may have the job).
 */
type Leased = (call: Call, leases: readonly LeasedJob[]) => Promise<readonly LeasedJob[]>;

const counted = (done: readonly boolean[]): number => done.filter(Boolean).length;

/**
 * Does `act` to the job each id names, looking again when it changed under it; counts the jobs
 * it was done to. Every id is checked before any job is touched; one named twice is done once,
 * and counted once, as Disque does. The leases this connection was handed under these very ids
 * are done with `leased`, together (issue 17); any other id is looked up by the spool id in it.
 */
function countingById(need: Need, act: Act, leased?: Leased): Command['run'] {
  return async (call: Call) => {
    const leases: LeasedJob[] = [];
    let ids: (string | null)[] = [];
    for (const arg of call.args) {
      const written = arg.toString('latin1');
      // Whatever is done to the job, a lease this connection was handed for it is of no more use.
      // One named twice is found once: the second goes by id, and finds the job done.
      const handed = call.session.handedOut.take(written);
      if (handed === undefined) {
        // Before any job is touched: taking a lease back from the connection touches none.
        if (!isDisqueId(written)) throw badId();
        ids.push(fromDisqueId(written));
      } else if (leased === undefined) ids.push(handed.id);
      else leases.push(handed);
    }
    let done = 0;
    if (leases.length > 0) {
      allow(
        call,
        need,
        leases.map((lease) => lease.queue),
      );
      const lost = await (leased as Leased)(call, leases);
      done += leases.length - lost.length;
      // Lost since: the job's current lease, if any, is asked for.
      ids.push(...lost.map((lease) => lease.id));
    }
    if (ids.length > 1) ids = [...new Set(ids)];
    if (ids.length > 0) done += counted(await Promise.all(ids.map((id) => byId(call, id, need, act, leased))));
    return done;
  };
}

/**
 * Whether `act` (or `leased`, on the job's lease) was done to job `id`, looking again when it
 * changed under it.
 */
async function byId(call: Call, id: string | null, need: Need, act: Act, leased: Leased | undefined): Promise<boolean> {
  if (id === null) return false;
  const { spool } = call.server;
  for (let i = 0; i < tries; i++) {
    try {
      // A job handed out, as most that consumers name are: its lease is all there is to read.
      const lease = leased === undefined ? null : await spool.currentLease(id);
      if (lease !== null) {
        allow(call, need, [lease.queue]);
        if ((await (leased as Leased)(call, [lease])).length === 0) return true;
        continue;
      }
      const job = await spool.job(id);
      if (job === null) return false;
      allow(call, need, [job.queue]);
      const handle: Handle = {
        job,
        lease: () => leaseOf(spool, job.id),
        remove: () => spool.queue(job.queue).remove(job.id),
        promote: async () => (await spool.queue(job.queue).promoteDelayed([job.id])) === 1,
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

/** Acks leases in one store call, shared with this tick's other acks. */
const ackLeases: Leased = async (call, leases) => {
  const { lost } = await call.server.spool.ack(leases.map((lease) => lease.token));
  if (lost.length === 0) return [];
  const tokens = new Set(lost);
  return leases.filter((lease) => tokens.has(lease.token));
};

/**
 * NACK: back in line at once, counted in the job's nacks. Jobs added over RESP have no attempt
 * limit (Disque jobs live until their TTL); a job added with one goes dead when it is used up.
 * A delayed job (Disque's active one not handed out: DEQUEUE held it, or DELAY) is made due,
 * with no nack counted: only a lease counts one.
 */
const nack: Act = async ({ job, lease, promote }) => {
  if (job.state === 'delayed') return promote();
  if (job.state !== 'active') return false;
  return (await (await lease()).nack({ delay: 0 })) === 'retry';
};

/**
 * ENQUEUE: a leased job back in line at once, as if its RETRY had run out now, so that its next
 * delivery counts as an additional one, as in Disque (queue.c enqueueJob): a release, which gives
 * the attempt back, hid it. A delayed one (held by DEQUEUE, or added with DELAY) is made due now,
 * as Disque queues any job not queued. A job added with an attempt limit goes dead on its last.
 */
const enqueue: Act = async ({ job, lease, promote }) => {
  if (job.state === 'delayed') return promote();
  if (job.state !== 'active') return false;
  return (await (await lease()).requeue()) === 'retry';
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
    const now = spool.clock.now();
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
  ackjob: { arity: -1, overlaps: true, run: countingById('consume', ack, ackLeases) },
  fastack: { arity: -1, overlaps: true, run: countingById('consume', ack, ackLeases) },
  nack: { arity: -1, run: countingById('consume', nack) },
  enqueue: { arity: -1, run: countingById('consume', enqueue) },
  deljob: { arity: -1, run: countingById('admin', deljob) },
  working: { arity: 2, run: working },
  dequeue: { arity: -1, run: dequeue },
};
