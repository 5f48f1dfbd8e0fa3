// What every command sees: the spool, this node, and the connection it came on.
import type { Queue, Spool } from '../../index.ts';
import { Guard } from '../http/auth.ts';
import type { Need, Principal } from '../http/auth.ts';
import { fromDisqueId, isDisqueId, toDisqueId } from './job-id.ts';
import type { IdFacts } from './job-id.ts';
import type { HandedOut } from './handed-out.ts';
import type { QueueActivity } from './queue-activity.ts';
import type { Reply } from './reply.ts';
import { ReplyError } from './reply.ts';

/** The `Spool.announce` kind under which the nodes of a pool find each other. */
export const poolKind = 'disque-node';

/** Where clients reach a node, as it announces itself to the pool. */
export interface NodeAddress {
  readonly host: string;
  readonly port: number;
}

export interface NodeInfo {
  /** 40 lowercase hex digits, as Disque's node ids; its first 8 name this node in job ids. */
  readonly id: string;
  /** Where clients reach it, once listening. */
  host: string;
  port: number;
}

export interface Server {
  readonly spool: Spool;
  readonly node: NodeInfo;
  readonly guard: Guard;
  /**
   * Queues paused for input (`PAUSE q in`): ADDJOB refuses them. Spool's own pause stops
   * leases (Disque's `out`) and lives in the store; this one is the node's alone.
   */
  readonly pausedIn: Set<string>;
  /** Queues this node has seen named, with what it saw of them (QSTAT, QSCAN). */
  readonly queues: QueueActivity;
  /** Longest a blocked GETJOB asks the store for in one go; it asks again until its own time-out. */
  readonly maxWaitMs: number;
  readonly startedAt: number;
  /** spool's package version, for INFO. */
  readonly version: string;
  /** Queue handles by name (`queueOf`). */
  readonly handles: Map<string, Queue>;
  /** Commands answered, for INFO. */
  commands: number;
  connections: number;
}

export interface Session {
  /** undefined until AUTH when the server has tokens; null when it has none. */
  principal: Principal | undefined;
  /** Aborted when the connection closes or the server ends it: a blocked GETJOB stops waiting. */
  readonly signal: AbortSignal;
  /** Leases this connection's GETJOBs handed out, for the ACKJOB that follows. */
  readonly handedOut: HandedOut;
  /** CLIENT SETNAME's: clients with a connection-name option set it as they connect. */
  name: Buffer | null;
}

export interface Call {
  readonly server: Server;
  readonly session: Session;
  /** The arguments after the command name. */
  readonly args: readonly Buffer[];
}

export interface Command {
  /** Redis's arity: n is exactly n words with the name, -n at least n. */
  readonly arity: number;
  /**
   * Writes that commute with each other (ADDJOB, ACKJOB) may run while the connection's
   * previous such commands are still in flight, so a pipeline of them shares the store's
   * batches; every other command waits for everything before it. A function decides by the
   * arguments (ADDJOB with MAXLEN reads the queue's length first, so it must see what came before).
   */
  readonly overlaps?: boolean | ((args: readonly Buffer[]) => boolean);
  /** Answered before AUTH (AUTH itself, PING, QUIT, HELLO's RESP3 refusal). */
  readonly open?: boolean;
  run(call: Call): Reply | Promise<Reply>;
}

/** ForbiddenError (→ -NOPERM) unless the connection may do `need` on `queues`. */
export function allow(call: Call, need: Need, queues: readonly string[]): void {
  Guard.allow(call.session.principal ?? null, need, queues);
}

/** Most queue handles a server keeps; past it they are all forgotten, so a client naming queues without end holds bounded memory. */
const maxHandles = 10_000;

/**
 * The server's handle on a queue: a handle keeps the job defaults it made from the queue's
 * stored settings, which a handle per command would make again for every job.
 */
export function queueOf(server: Server, name: string): Queue {
  let queue = server.handles.get(name);
  if (queue === undefined) {
    if (server.handles.size >= maxHandles) server.handles.clear();
    server.handles.set(name, (queue = server.spool.queue(name)));
  }
  return queue;
}

export function disqueId(server: Server, job: IdFacts & { readonly id: string }): string {
  return toDisqueId(server.node.id, job.id, job);
}

/**
 * Spool's id in each argument (null for a well-formed id that names no job here), or -BADID
 * before anything is done when one is not in Disque's shape.
 */
export function spoolIds(args: readonly Buffer[]): (string | null)[] {
  const ids = args.map((arg) => arg.toString('latin1'));
  if (!ids.every(isDisqueId)) throw badId();
  return ids.map(fromDisqueId);
}

export const badId = (): ReplyError => new ReplyError('BADID', 'Invalid Job ID format.');

/** A job's body as Disque hands it out: text as it was added, any other value as JSON. */
export function bodyOf(data: unknown): Buffer | string {
  if (typeof data === 'string') return data;
  if (data instanceof Uint8Array) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return JSON.stringify(data) ?? '';
}
