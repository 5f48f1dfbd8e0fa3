// QSCAN and JSCAN: iterating queues and jobs a page at a time with a cursor, "0" to start and
// to end. Both walk the queues the store lists and those this node has seen named (queue-counts.ts).
import type { JobState } from '../../index.ts';
import { Guard } from '../http/auth.ts';
import { integerOf, text, word } from './args.ts';
import { queueCounts } from '../queue-counts.ts';
import type { QueueCounts } from '../queue-counts.ts';
import { allow, disqueId } from './context.ts';
import type { Call, Command } from './context.ts';
import { disqueState, showReply } from './inspect.ts';
import { ReplyError, status, syntaxError } from './reply.ts';
import type { Reply } from './reply.ts';

const defaultCount = 100;

/** The spool states each Disque state stands for (acked and wait-repl jobs are never listed). */
const statesOf: Readonly<Record<string, readonly JobState[]>> = {
  queued: ['waiting'],
  active: ['active', 'delayed', 'dead'],
  acked: [],
  'wait-repl': [],
};

function countArg(arg: Buffer | undefined): number {
  const n = integerOf(arg);
  if (n === null || n < 1) throw new ReplyError('ERR', 'COUNT must be a number greater than zero');
  return n;
}

/** The queues this connection may see, sorted, so a cursor is an index into them. */
async function visibleQueues(call: Call): Promise<QueueCounts[]> {
  const principal = call.session.principal ?? null;
  const { spool, queues } = call.server;
  return (await queueCounts(spool, queues.names())).filter((q) => Guard.sees(principal, q.name));
}

async function qscan(call: Call): Promise<Reply> {
  let cursor: number | null = null;
  let count = defaultCount;
  let busyLoop = false;
  let minLength = 0;
  let maxLength = Infinity;
  let minImportRate = 0;
  const { args } = call;
  for (let i = 0; i < args.length; i++) {
    const opt = word(args[i]);
    const last = i === args.length - 1;
    if (opt === 'count' && !last) count = countArg(args[++i]);
    else if (opt === 'busyloop') busyLoop = true;
    else if ((opt === 'minlen' || opt === 'maxlen' || opt === 'importrate') && !last) {
      const n = integerOf(args[++i]);
      if (n === null) throw syntaxError();
      if (opt === 'minlen') minLength = n;
      else if (opt === 'maxlen') maxLength = n;
      else minImportRate = n;
    } else if (cursor === null && integerOf(args[i]) !== null && (integerOf(args[i]) as number) >= 0)
      cursor = integerOf(args[i]);
    else throw syntaxError();
  }
  const queues = await visibleQueues(call);
  const start = cursor ?? 0;
  const end = busyLoop ? queues.length : Math.min(queues.length, start + count);
  // spool keeps no import rate: every queue's is 0.
  const names = queues
    .slice(start, end)
    .filter((q) => q.counts.waiting >= minLength && q.counts.waiting <= maxLength && minImportRate <= 0)
    .map((q) => q.name);
  return [String(end >= queues.length ? 0 : end), names];
}

interface JscanArgs {
  cursor: string | null;
  count: number;
  busyLoop: boolean;
  queue: string | null;
  states: JobState[] | null;
  all: boolean;
}

function parseJscan(args: readonly Buffer[]): JscanArgs {
  const a: JscanArgs = { cursor: null, count: defaultCount, busyLoop: false, queue: null, states: null, all: false };
  for (let i = 0; i < args.length; i++) {
    const opt = word(args[i]);
    const last = i === args.length - 1;
    if (opt === 'count' && !last) a.count = countArg(args[++i]);
    else if (opt === 'busyloop') a.busyLoop = true;
    else if (opt === 'queue' && !last) a.queue = text(args[++i] as Buffer);
    else if (opt === 'state' && !last) {
      const states = statesOf[word(args[++i])];
      if (states === undefined) throw new ReplyError('ERR', 'Invalid job state name');
      a.states = [...(a.states ?? []), ...states];
    } else if (opt === 'reply' && !last) {
      const kind = word(args[++i]);
      if (kind !== 'id' && kind !== 'all') throw new ReplyError('ERR', 'Invalid REPLY type, try ID or ALL');
      a.all = kind === 'all';
    } else if (a.cursor === null) a.cursor = text(args[i] as Buffer);
    else throw syntaxError();
  }
  return a;
}

/** A JSCAN cursor: which queue, which of its states, and the store's own cursor within it. */
function position(cursor: string | null): { qi: number; si: number; inner: string | null } {
  if (cursor === null || cursor === '0') return { qi: 0, si: 0, inner: null };
  const match = /^(\d+)\.(\d+)\.(.*)$/s.exec(cursor);
  if (match === null) throw new ReplyError('ERR', 'invalid cursor');
  return { qi: Number(match[1]), si: Number(match[2]), inner: match[3] === '' ? null : (match[3] as string) };
}

async function jscan(call: Call): Promise<Reply> {
  const a = parseJscan(call.args);
  const queues = a.queue === null ? (await visibleQueues(call)).map((q) => q.name) : [a.queue];
  if (a.queue !== null) allow(call, 'read', queues);
  const states = a.states ?? ['waiting', 'delayed', 'active', 'dead'];
  let { qi, si, inner } = position(a.cursor);
  const items: Reply[] = [];
  while (qi < queues.length && si < states.length && (a.busyLoop || items.length < a.count)) {
    const queue = call.server.spool.queue(queues[qi] as string);
    const page = await queue.list(states[si] as JobState, {
      limit: a.busyLoop ? 1000 : a.count - items.length,
      cursor: inner,
    });
    for (const job of page.jobs) {
      const state = disqueState(job);
      if (state !== null) items.push(a.all ? showReply(call.server, job, state) : status(disqueId(call.server, job)));
    }
    inner = page.cursor;
    if (inner === null && ++si >= states.length) [qi, si] = [qi + 1, 0];
  }
  const done = qi >= queues.length || states.length === 0;
  return [done ? '0' : `${qi}.${si}.${inner ?? ''}`, items];
}

export const scanCommands: Readonly<Record<string, Command>> = {
  qscan: { arity: -1, run: qscan },
  jscan: { arity: -1, run: jscan },
};
