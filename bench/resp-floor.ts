// The floor row of bench/disque.ts: a node process that parses each RESP command with the request
// parser `spool serve --resp` uses and answers it with a canned reply of the shape the real
// servers give (ADDJOB an id; GETJOB COUNT n that many 100-byte jobs; ACKJOB the number of ids),
// touching no queue. It runs the same clients against
// the least a node server can do per command: what the clients, node's sockets and the kernel
// allow on this machine before any server works. A server whose figure is near the floor's is
// held back by the clients, not by itself.
//
//   node --import tsx bench/resp-floor.ts <port>
import { createServer } from 'node:net';
import type { Socket } from 'node:net';
import { RequestParser } from '../src/server/resp/parser.ts';

const port = Number(process.argv[2]);
/** Disque's shape: `D-`, 8, `-`, 24, `-`, 4. */
const id = `D-00000000-${'A'.repeat(23)}x-ffff`;
const body = 'x'.repeat(100);
const idReply = `$${id.length}\r\n${id}\r\n`;

function reply(command: readonly Buffer[]): string {
  const args = command.map((arg) => arg.toString('latin1'));
  const name = (args[0] ?? '').toLowerCase();
  if (name === 'addjob') return idReply;
  if (name === 'ackjob') return `:${args.length - 1}\r\n`;
  if (name === 'ping') return '+PONG\r\n';
  if (name !== 'getjob') return '+OK\r\n';
  const upper = args.map((a) => a.toUpperCase());
  const count = Number(args[upper.indexOf('COUNT') + 1] ?? 1);
  const queue = args[upper.indexOf('FROM') + 1] ?? '';
  const job = `*3\r\n$${queue.length}\r\n${queue}\r\n${idReply}$${body.length}\r\n${body}\r\n`;
  return `*${count}\r\n${job.repeat(count)}`;
}

function serve(socket: Socket): void {
  // The server's default limits (src/server/resp/server.ts).
  const parser = new RequestParser({ maxBulkBytes: 8 << 20, maxArgs: 65_536, maxCommandBytes: 16 << 20 });
  socket.setNoDelay(true);
  socket.on('error', () => {});
  socket.on('data', (chunk: Buffer) => {
    parser.push(chunk);
    let out = '';
    for (let command = parser.next(); command !== null; command = parser.next()) out += reply(command);
    if (out !== '') socket.write(out);
  });
}

const server = createServer(serve).listen(port, '127.0.0.1');
process.once('SIGTERM', () => {
  server.close();
  process.exit(0);
});
