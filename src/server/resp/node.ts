// The commands clients send around the job commands: HELLO, CLUSTER NODES and INFO, CLIENT
// SETNAME and GETNAME, INFO, PING, TIME, AUTH, QUIT, COMMAND.
import { UnauthorizedError } from '../../index.ts';
import { word } from './args.ts';
import { queueCounts } from '../queue-counts.ts';
import { poolKind } from './context.ts';
import type { Call, Command, NodeAddress } from './context.ts';
import { ok, ReplyError, status, syntaxError } from './reply.ts';
import type { Reply } from './reply.ts';

/**
 * The nodes of the pool: this one first, then every other `spool serve --resp` on the same
 * store that announced itself recently (a node that stops renewing drops out), so clients
 * that spread over Disque's nodes find them all.
 */
async function nodes(call: Call): Promise<{ id: string; host: string; port: number; priority: number }[]> {
  const { node, spool } = call.server;
  const peers = await spool.present<NodeAddress>(poolKind);
  return [
    { id: node.id, host: node.host, port: node.port, priority: 1 },
    ...peers.filter((p) => p.id !== node.id).map((p) => ({ id: p.id, ...p.info, priority: 1 })),
  ];
}

/**
 * HELLO: `[1, my id, [id, ip, port, priority] …]`, port and priority as bulk strings. A RESP3
 * client opens with `HELLO 3`: NOPROTO is the answer Redis gives for a version it does not
 * speak, and such clients fall back to RESP2 on it.
 */
async function hello(call: Call): Promise<Reply> {
  if (call.args.length > 0) throw new ReplyError('NOPROTO', 'sorry, this protocol version is not supported');
  return [
    1,
    call.server.node.id,
    ...(await nodes(call)).map((n) => [n.id, n.host, String(n.port), String(n.priority)]),
  ];
}

/** CLUSTER NODES, one line a node; CLUSTER INFO in Disque's fields (reachable: the others; no bus, no messages). */
async function cluster(call: Call): Promise<Reply> {
  const sub = word(call.args[0]);
  if ((sub !== 'nodes' && sub !== 'info') || call.args.length !== 1) throw syntaxError();
  const all = await nodes(call);
  if (sub === 'info')
    return (
      `cluster_state:ok\r\ncluster_known_nodes:${all.length}\r\ncluster_reachable_nodes:${all.length - 1}\r\n` +
      `cluster_size:${all.length}\r\ncluster_stats_messages_sent:0\r\ncluster_stats_messages_received:0\r\n`
    );
  const me = call.server.node.id;
  return all.map((n) => `${n.id} ${n.host}:${n.port} ${n.id === me ? 'myself' : 'noflags'} 0 0 connected\n`).join('');
}

/** CLIENT SETNAME and GETNAME, with Disque's check and errors; the name is only kept for GETNAME. */
function client(call: Call): Reply {
  const [sub, name] = [word(call.args[0]), call.args[1]];
  if (sub === 'getname' && call.args.length === 1) return call.session.name;
  if (sub !== 'setname' || name === undefined || call.args.length !== 2)
    throw new ReplyError('ERR', 'Syntax error, try CLIENT (LIST | KILL ip:port | GETNAME | SETNAME connection-name)');
  // Disque's rule, so that CLIENT LIST splits on spaces: printable ASCII without a space.
  if (name.some((byte) => byte < 0x21 || byte > 0x7e))
    throw new ReplyError('ERR', 'Client names cannot contain spaces, newlines or special characters.');
  call.session.name = name.length === 0 ? null : Buffer.from(name);
  return ok;
}

async function info(call: Call): Promise<Reply> {
  const { server } = call;
  const section = word(call.args[0]);
  const uptimeS = Math.floor((server.spool.clock.now() - server.startedAt) / 1000);
  const everything = section === '' || section === 'all' || section === 'default';
  // Disque's README sends operators to `INFO jobs`: the jobs of every queue (queue-counts.ts).
  const counted = everything || section === 'jobs' || section === 'queues';
  const queues = counted ? await queueCounts(server.spool, server.queues.names()) : [];
  let jobs = 0;
  for (const { counts: c } of queues) jobs += c.waiting + c.delayed + c.active + c.dead;
  const sections: Record<string, string[]> = {
    server: [
      'disque_version:1.0-rc1',
      `spool_version:${server.version}`,
      `process_id:${process.pid}`,
      `run_id:${server.node.id}`,
      `tcp_port:${server.node.port}`,
      `uptime_in_seconds:${uptimeS}`,
    ],
    clients: [`connected_clients:${server.connections}`],
    stats: [`total_commands_processed:${server.commands}`],
    jobs: [`registered_jobs:${jobs}`],
    queues: [`registered_queues:${queues.length}`],
  };
  const chosen = everything ? Object.keys(sections) : [section];
  return chosen
    .filter((name) => sections[name] !== undefined)
    .map((name) => `# ${name[0]?.toUpperCase()}${name.slice(1)}\r\n${(sections[name] as string[]).join('\r\n')}\r\n`)
    .join('\r\n');
}

function ping(call: Call): Reply {
  if (call.args.length > 1) throw new ReplyError('ERR', "wrong number of arguments for 'ping' command");
  return call.args[0] ?? status('PONG');
}

function time(call: Call): Reply {
  const micros = BigInt(call.server.spool.clock.now()) * 1000n;
  return [String(micros / 1_000_000n), String(micros % 1_000_000n)];
}

/** AUTH token (or Redis 6's AUTH user token): one of `spool serve`'s tokens, with its scopes. */
function auth(call: Call): Reply {
  const { guard } = call.server;
  if (!guard.enabled) throw new ReplyError('ERR', 'Client sent AUTH, but no password is set');
  if (call.args.length > 2) throw syntaxError();
  const token = (call.args.at(-1) as Buffer).toString('utf8');
  try {
    call.session.principal = guard.authenticate(`Bearer ${token}`);
  } catch (error) {
    if (error instanceof UnauthorizedError) throw new ReplyError('ERR', 'invalid password');
    throw error;
  }
  return ok;
}

/** QUIT: the connection writes this answer, then ends. */
const quit = (): Reply => ok;

/** COMMAND: clients ask it for key positions or docs; Disque's commands have no keys to route by. */
function command(call: Call): Reply {
  return word(call.args[0]) === 'count' ? 0 : [];
}

export const nodeCommands: Readonly<Record<string, Command>> = {
  hello: { arity: -1, open: true, run: hello },
  cluster: { arity: -2, run: cluster },
  client: { arity: -2, run: client },
  info: { arity: -1, run: info },
  ping: { arity: -1, open: true, run: ping },
  time: { arity: 1, run: time },
  auth: { arity: -2, open: true, run: auth },
  quit: { arity: -1, open: true, run: quit },
  command: { arity: -1, open: true, run: command },
};
