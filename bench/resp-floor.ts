// The floor row of bench/disque.ts: a node process that parses each RESP command and answers it
// with a canned reply of the shape the real servers give (ADDJOB an id; GETJOB COUNT n that many
// 100-byte jobs; ACKJOB the number of ids), touching no queue. It runs the same clients against
// the least a node server can do per command: what the clients, node's sockets and the kernel
// allow on this machine before any server works. A server whose figure is near the floor's is
// held back by the clients, not by itself.
//
//   node --import tsx bench/resp-floor.ts <port>
import { createServer } from 'node:net';
import type { Socket } from 'node:net';

const port = Number(process.argv[2]);
/** Disque's shape: `D-`, 8, `-`, 24, `-`, 4. */
const id = `D-00000000-${'A'.repeat(23)}x-ffff`;
const body = 'x'.repeat(100);
const idReply = `$${id.length}\r\n${id}\r\n`;

/** One whole command's arguments from `at`, and where the next begins; null while it is not all here. */
function command(buf: Buffer, at: number): { args: string[]; end: number } | null {
  let eol = buf.indexOf('\r\n', at);
  if (eol < 0) return null;
  const count = Number(buf.toString('latin1', at + 1, eol));
  let p = eol + 2;
  const args: string[] = [];
  for (let i = 0; i < count; i++) {
    eol = buf.indexOf('\r\n', p);
    if (eol < 0) return null;
    const length = Number(buf.toString('latin1', p + 1, eol));
    p = eol + 2;
    if (p + length + 2 > buf.length) return null;
    args.push(buf.toString('latin1', p, p + length));
    p += length + 2;
  }
  return { args, end: p };
}

function reply(args: readonly string[]): string {
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
  let pending: Buffer = Buffer.alloc(0);
  socket.setNoDelay(true);
  socket.on('error', () => {});
  socket.on('data', (chunk: Buffer) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    let at = 0;
    let out = '';
    for (let next = command(pending, at); next !== null; next = command(pending, at)) {
      at = next.end;
      out += reply(next.args);
    }
    pending = pending.subarray(at);
    if (out !== '') socket.write(out);
  });
}

const server = createServer(serve).listen(port, '127.0.0.1');
process.once('SIGTERM', () => {
  server.close();
  process.exit(0);
});
