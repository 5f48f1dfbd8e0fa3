// The Disque protocol server: RESP2 on `net`, Disque's job commands over any Spool.
import { randomBytes } from 'node:crypto';
import { createServer as createNetServer } from 'node:net';
import type { Socket } from 'node:net';
import { asError } from '../../errors.ts';
import { parseDuration, ValidationError } from '../../index.ts';
import type { Duration, Spool } from '../../index.ts';
import { Guard, tokenGrants } from '../http/auth.ts';
import type { TokenGrant } from '../http/auth.ts';
import { addjobCommand } from './addjob.ts';
import { Connection } from './connection.ts';
import type { ConnectionLimits, RespLogger } from './connection.ts';
import { poolKind } from './context.ts';
import type { Command, NodeAddress, Server } from './context.ts';
import { getjobCommand } from './getjob.ts';
import { inspectCommands } from './inspect.ts';
import { nodeCommands } from './node.ts';
import { QueueActivity } from './queue-activity.ts';
import { scanCommands } from './scan.ts';
import { byIdCommands } from './by-id.ts';
import { Turn } from './turn.ts';

export type { RespLogger };

export interface RespServerOptions {
  spool: Spool;
  /** Tokens clients send with AUTH; none means no auth, so keep the server on 127.0.0.1. */
  tokens?: readonly TokenGrant[];
  /** 40 hex digits; default random. Job ids carry its first 8, HELLO and CLUSTER NODES all of it. */
  nodeId?: string;
  /** Largest argument (a job body) in bytes; default 8 MiB. */
  maxBulkBytes?: number;
  /** Most arguments in one command; default 65,536 (ACKJOB of many ids). */
  maxArgs?: number;
  /** Largest command in bytes; default 16 MiB. */
  maxCommandBytes?: number;
  /** Commands of one connection read but not answered before it is read no more; default 1,000. */
  maxPendingReplies?: number;
  /** Unread reply bytes of one connection before it is read no more; default 1 MiB. */
  maxOutputBytes?: number;
  /** Longest one store wait of a blocked GETJOB (it then waits again); default 5 minutes. */
  maxWait?: Duration;
  /** Most connections at once; default 10,000. */
  maxConnections?: number;
  /** Where failures that are not the client's fault are logged (a pino logger will do); default none. */
  logger?: RespLogger | false;
  /** Reported by INFO. */
  version?: string;
}

export interface RespServer {
  /** This node's id, as HELLO reports it. */
  readonly nodeId: string;
  /** Starts accepting; resolves with the address bound (port 0 picks a free one). */
  listen(port: number, host?: string): Promise<{ host: string; port: number }>;
  /** Stops accepting, answers blocked GETJOBs with nil, writes every reply due, ends each connection. Leaves the spool open. */
  close(): Promise<void>;
}

const commands: Readonly<Record<string, Command>> = {
  addjob: addjobCommand,
  getjob: getjobCommand,
  ...byIdCommands,
  ...inspectCommands,
  ...scanCommands,
  ...nodeCommands,
};

/** How long close waits for clients to take their last replies before it drops them. */
const closeGraceMs = 5_000;

function limit(value: number | undefined, fallback: number, field: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1)
    throw new ValidationError(field, `must be a whole number ≥ 1, got ${String(value)}`);
  return value;
}

export function respServer(options: RespServerOptions): RespServer {
  const nodeId = options.nodeId ?? randomBytes(20).toString('hex');
  if (!/^[0-9a-f]{40}$/.test(nodeId)) throw new ValidationError('nodeId', 'must be 40 lowercase hex digits');
  const limits: ConnectionLimits = Object.freeze({
    maxBulkBytes: limit(options.maxBulkBytes, 8 << 20, 'maxBulkBytes'),
    maxArgs: limit(options.maxArgs, 65_536, 'maxArgs'),
    maxCommandBytes: limit(options.maxCommandBytes, 16 << 20, 'maxCommandBytes'),
    maxPendingReplies: limit(options.maxPendingReplies, 1000, 'maxPendingReplies'),
    maxOutputBytes: limit(options.maxOutputBytes, 1 << 20, 'maxOutputBytes'),
  });
  let closing = false;
  /** Takes this node out of the pool; set once it listens. */
  let withdrawal: (() => Promise<void>) | null = null;
  const server: Server = {
    spool: options.spool,
    node: { id: nodeId, host: '127.0.0.1', port: 0 },
    guard: new Guard(tokenGrants(options.tokens ?? [], 'tokens')),
    pausedIn: new Set(),
    queues: new QueueActivity(options.spool.clock),
    maxWaitMs: Math.max(1, parseDuration(options.maxWait ?? '5m', 'maxWait')),
    startedAt: options.spool.clock.now(),
    version: options.version ?? '',
    handles: new Map(),
    commands: 0,
    connections: 0,
  };
  const log = options.logger === undefined || options.logger === false ? null : options.logger;
  const open = new Set<Connection>();
  const turn = new Turn();
  const net = createNetServer({ allowHalfOpen: true }, (socket: Socket) => {
    const connection = new Connection(socket, server, commands, limits, log, turn);
    open.add(connection);
    server.connections++;
    void connection.closed.then(() => {
      open.delete(connection);
      server.connections--;
    });
    if (closing) connection.end();
  });
  net.maxConnections = limit(options.maxConnections, 10_000, 'maxConnections');

  return {
    nodeId,
    listen(port, host = '127.0.0.1') {
      return new Promise((resolve, reject) => {
        net.once('error', reject);
        net.listen(port, host, () => {
          net.off('error', reject);
          const address = net.address();
          const bound = typeof address === 'object' && address !== null ? address.port : port;
          server.node.host = host;
          server.node.port = bound;
          const reach: NodeAddress = { host, port: bound };
          options.spool.announce(poolKind, nodeId, reach).then(
            (withdraw) => {
              withdrawal = withdraw;
              resolve(reach);
            },
            (error: unknown) => net.close(() => reject(asError(error))),
          );
        });
      });
    },
    async close() {
      closing = true;
      // Out of the pool first, so clients stop being sent here; the store may already be failing.
      await withdrawal?.().catch(() => {});
      const stopped = new Promise<void>((resolve) => net.close(() => resolve()));
      const connections = [...open];
      for (const connection of connections) connection.end();
      // A client that never reads would hold its last replies, and the close, for ever.
      const grace = setTimeout(() => {
        for (const connection of connections) connection.destroy();
      }, closeGraceMs);
      await Promise.all([stopped, ...connections.map((c) => c.closed)]);
      clearTimeout(grace);
    },
  };
}
