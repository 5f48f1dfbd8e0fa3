// ADDJOB queue body ms-timeout [REPLICATE n] [DELAY s] [RETRY s] [TTL s] [MAXLEN n] [ASYNC]
// with Disque's defaults, checks in Disque's order and Disque's error texts.
import { isUtf8 } from 'node:buffer';
import { ReplicationError, systemClock } from '../../index.ts';
import type { JobOptions, Queue } from '../../index.ts';
import { integerOf, text, timeoutArg, word } from './args.ts';
import { allow, disqueId, queueOf } from './context.ts';
import type { Call, Command } from './context.ts';
import { ReplyError, status, syntaxError } from './reply.ts';
import type { Reply } from './reply.ts';

const defaultTtlS = 86_400;
const maxDefaultRetryS = 300;

interface AddArgs {
  replicate: number;
  delayS: number;
  /** null: Disque's default, a tenth of the TTL. */
  retryS: number | null;
  ttlS: number;
  maxLength: number | null;
  /** ms-timeout: how long to wait for the copies REPLICATE asks for; 0 for the store's own bound. */
  timeoutMs: number;
  /** ASYNC: answer once the job is added, without waiting for its copies. */
  async: boolean;
}

type Check = (n: number) => boolean;

type NumberOption = 'replicate' | 'delayS' | 'retryS' | 'ttlS' | 'maxLength';

const options: Readonly<Record<string, { key: NumberOption; ok: Check; error: string }>> = {
  replicate: { key: 'replicate', ok: (n) => n > 0 && n <= 65535, error: 'REPLICATE must be between 1 and 65535' },
  ttl: { key: 'ttlS', ok: (n) => n > 0, error: 'TTL must be a number > 0' },
  retry: { key: 'retryS', ok: (n) => n >= 0, error: 'RETRY time must be a non negative number' },
  delay: { key: 'delayS', ok: (n) => n >= 0, error: 'DELAY time must be a non negative number' },
  maxlen: { key: 'maxLength', ok: (n) => n > 0, error: 'MAXLEN must be a positive number' },
};

function parse(args: readonly Buffer[]): AddArgs {
  const parsed: AddArgs = {
    replicate: 1,
    delayS: 0,
    retryS: null,
    ttlS: defaultTtlS,
    maxLength: null,
    timeoutMs: 0,
    async: false,
  };
  for (let i = 3; i < args.length; i++) {
    const name = word(args[i]);
    const option = options[name];
    if (option !== undefined && i + 1 < args.length) {
      const n = integerOf(args[++i]);
      if (n === null || !option.ok(n)) throw new ReplyError('ERR', option.error);
      parsed[option.key] = n;
    } else if (name === 'async') parsed.async = true;
    else throw syntaxError();
  }
  parsed.timeoutMs = timeoutArg(args[2]);
  if (parsed.replicate > 1 && parsed.retryS === 0)
    throw new ReplyError('ERR', 'With RETRY set to 0 please explicitly set  REPLICATE to 1 (at-most-once delivery)');
  if (parsed.delayS >= parsed.ttlS)
    throw new ReplyError('ERR', 'The specified DELAY is greater than TTL. Job refused since would never be delivered');
  return parsed;
}

// Not async: the checks throw at once, and an add of a queue without MAXLEN is one promise chain
// from the store's answer to the reply (issue 17).
function addjob(call: Call): Promise<Reply> {
  const body = call.args[1] as Buffer;
  const a = parse(call.args);
  const { spool } = call.server;
  const queue = queueOf(call.server, text(call.args[0] as Buffer));
  allow(call, 'publish', [queue.name]);
  if (a.replicate > spool.capabilities.maxReplicas + 1)
    throw new ReplyError('NOREPL', 'Not enough reachable nodes for the requested replication level');
  // Bodies travel as the text they are (JSON strings in the store), so HTTP and library
  // consumers read the same value; bytes that are not UTF-8 would not survive that.
  if (!isUtf8(body)) throw new ReplyError('ERR', 'job body must be UTF-8 text');
  if (a.maxLength === null) return add(call, queue, a, body);
  const maxLength = a.maxLength;
  // Disque's MAXLEN counts the queued jobs of this node; checked before the add, not in it.
  return queue.counts().then((counts) => {
    if (counts.waiting >= maxLength)
      throw new ReplyError('MAXLEN', 'Queue is already longer than the specified MAXLEN count');
    return add(call, queue, a, body);
  });
}

function add(call: Call, queue: Queue, a: AddArgs, body: Buffer): Promise<Reply> {
  const { pausedIn, queues } = call.server;
  if (pausedIn.has(queue.name)) throw new ReplyError('PAUSED', 'Queue paused in input, try later');
  queues.seen(queue.name);
  const retryS = a.retryS ?? Math.max(1, Math.min(maxDefaultRetryS, Math.floor(a.ttlS / 10)));
  const ttlMs = a.ttlS * 1000;
  const jobOptions = jobOptionsOf(ttlMs, a.delayS * 1000, retryS, a.replicate > 1 && !a.async ? a.replicate : 1);
  const adding = queue.add(text(body), jobOptions);
  return (jobOptions.replicate === undefined ? adding : copied(adding, a.timeoutMs, queue)).then((id) => {
    queues.added(queue.name, 1);
    // The id's TTL part depends only on the TTL and the attempts, as it will when the job is read back.
    return status(
      disqueId(call.server, { id, createdAt: 0, expiresAt: ttlMs, maxAttempts: retryS === 0 ? 1 : Infinity }),
    );
  });
}

/** Most distinct option sets `jobOptionsOf` keeps; past it they are all forgotten. */
const maxOptionSets = 1_000;
const optionSets = new Map<string, JobOptions>();
/** The set `jobOptionsOf` answered last, and the numbers it was for. */
let last = { ttlMs: NaN, delayMs: NaN, retryS: NaN, replicate: NaN, options: {} as JobOptions };

/**
 * Spool's options for a Disque job, one frozen object per distinct set: the core checks a
 * frozen options object once, not at every add (issue 17). `replicate`: copies to wait for, 1
 * for none (ASYNC: the store copies the job in its own time, as Redis replicates every write).
 */
function jobOptionsOf(ttlMs: number, delayMs: number, retryS: number, replicate: number): JobOptions {
  // Most producers send the same options every time: no key is made for a repeat (issue 17).
  if (last.ttlMs === ttlMs && last.delayMs === delayMs && last.retryS === retryS && last.replicate === replicate)
    return last.options;
  const key = `${ttlMs} ${delayMs} ${retryS} ${replicate}`;
  let options = optionSets.get(key);
  if (options === undefined) {
    if (optionSets.size >= maxOptionSets) optionSets.clear();
    options = Object.freeze({
      ttl: ttlMs,
      delay: delayMs,
      // RETRY 0 is at most once: one delivery, never handed out again (the lease then outlives the TTL).
      visibility: retryS === 0 ? ttlMs : retryS * 1000,
      maxAttempts: retryS === 0 ? 1 : Infinity,
      // A Disque job is queued again as soon as its RETRY passes, with no back-off.
      backoff: Object.freeze({ type: 'fixed', delay: 0 } as const),
      ...(replicate > 1 ? { replicate } : {}),
    });
    optionSets.set(key, options);
  }
  last = { ttlMs, delayMs, retryS, replicate, options };
  return options;
}

const noRepl = (): ReplyError =>
  new ReplyError('NOREPL', 'Timeout reached before replicating to the requested number of nodes');

/**
 * The id of an add that waits for copies, or Disque's NOREPL once `timeoutMs` (0: the store's
 * own bound, a ReplicationError) passes first. Then, as Disque does, the job is deleted as best
 * it can be, once the add is through: the client was told it failed and may add it again.
 */
function copied(adding: Promise<string>, timeoutMs: number, queue: Queue): Promise<string> {
  const cleanUp = (id: string): void => void queue.remove(id).catch(() => {});
  return new Promise((resolve, reject) => {
    let late = false;
    // systemClock's timer, not setTimeout: past 2^31 - 1 ms (24.8 days) setTimeout fires in 1 ms,
    // and an ADDJOB … 3000000000 REPLICATE 2 answered NOREPL at once and deleted its job.
    const cancel =
      timeoutMs === 0
        ? null
        : systemClock.setTimer(timeoutMs, () => {
            late = true;
            reject(noRepl());
          });
    adding.then(
      (id) => {
        cancel?.();
        if (late) cleanUp(id);
        else resolve(id);
      },
      (error: unknown) => {
        cancel?.();
        if (error instanceof ReplicationError) error.ids.forEach(cleanUp);
        if (!late) reject(error instanceof ReplicationError ? noRepl() : (error as Error));
      },
    );
  });
}

/**
 * Adds overlap, but MAXLEN reads the queue's length before its add: it waits for the commands
 * before it (an ACKJOB sent ahead of it on the connection shortens the queue it reads), and the
 * ones after wait for it (a pipeline of them each sees the adds before).
 */
const overlaps = (args: readonly Buffer[]): boolean => {
  for (let i = 3; i < args.length; i++) if (word(args[i]) === 'maxlen') return false;
  return true;
};

export const addjobCommand: Command = { arity: -4, overlaps, run: addjob };
