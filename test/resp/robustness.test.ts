// Bad and hostile clients: malformed RESP, oversize lengths, half-sent frames, a client that
// never reads, many idle connections, random bytes and random commands. The server answers
// -ERR or closes that connection, and keeps serving everyone else.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { ProtocolError, RequestParser } from '../../src/server/resp/parser.ts';
import { startResp } from './harness.ts';
import type { RunningResp } from './harness.ts';

let r: RunningResp;
before(async () => {
  r = await startResp({ maxBulkBytes: 1024, maxArgs: 64, maxCommandBytes: 16 * 1024 });
});
after(() => r.close());

const limits = { maxBulkBytes: 1024, maxArgs: 64, maxCommandBytes: 16 * 1024 };

async function dial(): Promise<Socket> {
  const socket = connect(r.port, '127.0.0.1');
  await once(socket, 'connect');
  return socket;
}

/** Sends `bytes`, and collects what comes back until the server closes the connection. */
async function untilClosed(bytes: Buffer | string): Promise<string> {
  const socket = await dial();
  let text = '';
  socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
  socket.write(bytes);
  await once(socket, 'close');
  return text;
}

async function stillServes(): Promise<void> {
  assert.equal(await r.cli('PING'), 'PONG');
}

void test('the parser returns the same commands however the bytes are split', () => {
  const frames = '*2\r\n$4\r\nPING\r\n$3\r\na\r\n\r\n*1\r\n$4\r\nQLEN\r\nPING inline  words\r\n*0\r\n';
  const whole = new RequestParser(limits);
  whole.push(Buffer.from(frames, 'latin1'));
  const expected: string[][] = [];
  for (let args = whole.next(); args !== null; args = whole.next()) expected.push(args.map(String));
  assert.deepEqual(expected, [['PING', 'a\r\n'], ['QLEN'], ['PING', 'inline', 'words'], []]);
  for (let cut = 1; cut < frames.length; cut++) {
    for (let second = cut; second < frames.length; second++) {
      const parser = new RequestParser(limits);
      const got: string[][] = [];
      for (const part of [frames.slice(0, cut), frames.slice(cut, second), frames.slice(second)]) {
        parser.push(Buffer.from(part, 'latin1'));
        for (let args = parser.next(); args !== null; args = parser.next()) got.push(args.map(String));
      }
      assert.deepEqual(got, expected, `split at ${cut} and ${second}`);
      assert.equal(parser.buffered, 0, `nothing left after splits at ${cut} and ${second}`);
    }
  }
});

void test('the parser refuses bad frames and lengths over its limits before the bytes arrive', () => {
  const refusals: [string, RegExp][] = [
    ['*x\r\n', /invalid multibulk length/],
    ['*1\r\n+PING\r\n', /expected '\$', got '\+'/],
    ['*1\r\n$-3\r\n', /invalid bulk length/],
    ['*1\r\n$4\r\nPINGxx', /not followed by CRLF/],
    ['*1\r\n$99999999999\r\n', /over the limit of 1024 bytes/],
    ['*65\r\n', /too many arguments/],
    ['*1\n', /CRLF/],
  ];
  for (const [frame, error] of refusals) {
    const parser = new RequestParser(limits);
    parser.push(Buffer.from(frame, 'latin1'));
    assert.throws(
      () => parser.next(),
      (e: unknown) => e instanceof ProtocolError && error.test(e.message),
      frame,
    );
  }
  // Arguments each within maxBulkBytes that add up past maxCommandBytes, the last one still coming.
  const big = new RequestParser(limits);
  const arg = `$1000\r\n${'a'.repeat(1000)}\r\n`;
  big.push(Buffer.from(`*60\r\n${arg.repeat(17)}$1000\r\naaa`, 'latin1'));
  assert.throws(() => big.next(), /command over the limit/);
});

void test('inline commands read quotes and escapes as Redis and Disque do; unbalanced quotes are a protocol error', async () => {
  const words = (line: string): string[] | null => {
    const parser = new RequestParser(limits);
    parser.push(Buffer.from(`${line}\r\n`, 'latin1'));
    return parser.next()?.map((arg) => arg.toString('latin1')) ?? null;
  };
  assert.deepEqual(words('ADDJOB q "hello world" 0'), ['ADDJOB', 'q', 'hello world', '0']);
  assert.deepEqual(words('ADDJOB  q\t"x\\ny\\x41\\"" 0'), ['ADDJOB', 'q', 'x\nyA"', '0']);
  assert.deepEqual(words(`PING 'it\\'s' ''`), ['PING', "it's", '']);
  assert.deepEqual(words('PING a"b c"'), ['PING', 'ab c']);
  for (const bad of ['PING "open', "PING 'open", 'PING "a"b'])
    assert.throws(
      () => words(bad),
      (e: unknown) => e instanceof ProtocolError && /unbalanced quotes/.test(e.message),
    );
  // Over a socket: the quoted body is the job's, then the unbalanced line ends the connection.
  const text = await untilClosed('ADDJOB inline-q "hello world" 0\r\nQPEEK inline-q 1\r\nPING "open\r\n');
  assert.match(text, /\*3\r\n\$8\r\ninline-q\r\n\$40\r\nD-[^\r]+\r\n\$11\r\nhello world\r\n/);
  assert.match(text, /-ERR Protocol error: unbalanced quotes in request\r\n$/);
  await stillServes();
});

void test('malformed RESP gets -ERR Protocol error and the connection closes; others go on', async () => {
  assert.match(await untilClosed('*1\r\n+PING\r\n'), /^-ERR Protocol error: expected '\$', got '\+'\r\n$/);
  assert.match(
    await untilClosed('*1\r\n$4000000000\r\n'),
    /^-ERR Protocol error: bulk length 4000000000 is over the limit/,
  );
  await stillServes();
});

void test('commands before a protocol error are answered first, in order', async () => {
  const text = await untilClosed('*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nPING\r\n$2\r\nhi\r\n*1\r\n!\r\n');
  assert.equal(text, "+PONG\r\n$2\r\nhi\r\n-ERR Protocol error: expected '$', got '!'\r\n");
});

void test('a half-sent frame waits for the rest, and a client that leaves mid-frame costs nothing', async () => {
  const socket = await dial();
  const reply = once(socket, 'data');
  socket.write('*2\r\n$4\r\nPING\r\n$5\r\nhel');
  // Only after the server has read the first half: a PING on another connection is answered
  // after it (the server reads sockets in the order data arrives).
  await stillServes();
  socket.write('lo\r\n');
  assert.equal(String((await reply)[0]), '$5\r\nhello\r\n');
  socket.write('*1\r\n$4\r\nPI');
  socket.destroy();
  await stillServes();
});

void test('a client that sends its commands and shuts its side still gets every reply', async () => {
  const socket = await dial();
  let replies = '';
  socket.on('data', (chunk: Buffer) => (replies += chunk.toString('latin1')));
  // A GETJOB that waits makes the replies come after the client's end has arrived.
  const getjob = '*5\r\n$6\r\nGETJOB\r\n$7\r\nTIMEOUT\r\n$3\r\n100\r\n$4\r\nFROM\r\n$5\r\nhalf0\r\n';
  const addjob = '*4\r\n$6\r\nADDJOB\r\n$4\r\nhalf\r\n$1\r\nx\r\n$1\r\n0\r\n';
  socket.end(`${getjob}${addjob}*2\r\n$4\r\nQLEN\r\n$4\r\nhalf\r\n`);
  await once(socket, 'close');
  assert.match(replies, /^\*-1\r\n\+D-[^\r]+\r\n:1\r\n$/);
});

void test('10,000 pipelined commands in one write are answered in order', async () => {
  const socket = await dial();
  const n = 10_000;
  let request = '';
  let expected = '';
  for (let i = 0; i < n; i++) {
    const word = String(i);
    request += `*2\r\n$4\r\nPING\r\n$${word.length}\r\n${word}\r\n`;
    expected += `$${word.length}\r\n${word}\r\n`;
  }
  let text = '';
  const done = new Promise<void>((resolve) =>
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      if (text.length >= expected.length) resolve();
    }),
  );
  socket.write(request);
  await done;
  assert.equal(text, expected);
  socket.destroy();
});

void test('a client that never reads is not read either: its replies wait, nothing else does', async () => {
  const slow = await startResp({ maxPendingReplies: 16, maxOutputBytes: 64 * 1024 });
  try {
    const socket = connect(slow.port, '127.0.0.1');
    await once(socket, 'connect');
    socket.pause();
    const body = 'x'.repeat(60 * 1024);
    const frame = `*2\r\n$4\r\nPING\r\n$${body.length}\r\n${body}\r\n`;
    // Write until the socket's own buffer holds data the server did not take, even after a pause
    // (the kernel's buffers take a lot first, more under load): the server stopped reading this
    // client instead of buffering its replies without end.
    let written = 0;
    for (;;) {
      const more = socket.write(frame);
      written++;
      if (more) continue;
      await new Promise((resolve) => setTimeout(resolve, 100));
      if (socket.writableLength > 0) break;
      assert.ok(written < 4000, 'the server kept reading a client that never reads');
    }
    assert.equal(await slow.cli('PING'), 'PONG', 'other clients are served');
    assert.ok(socket.writableLength > 0, 'the server left the rest of the flood unread');
    // Once the client reads, every reply arrives, in order.
    let received = 0;
    const total = written * (body.length + `$${body.length}\r\n\r\n`.length);
    const all = new Promise<void>((resolve) =>
      socket.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received >= total) resolve();
      }),
    );
    socket.resume();
    await all;
    assert.equal(received, total);
    socket.destroy();
  } finally {
    await slow.close();
  }
});

void test('1,000 idle connections are held while others are served, and all close cleanly', async () => {
  const idle = await Promise.all(Array.from({ length: 1000 }, () => dial()));
  await stillServes();
  assert.match(await r.cli('INFO', 'clients'), /connected_clients:10\d\d/);
  await Promise.all(idle.map((s) => (s.destroy(), once(s, 'close'))));
  await stillServes();
});

/** A small seeded generator, so a failure can be replayed. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

void test('fuzz: 300 connections of random bytes each end in replies or a close, never a crash', async () => {
  const rand = random(17);
  for (let i = 0; i < 300; i++) {
    const bytes = Buffer.alloc(1 + Math.floor(rand() * 600));
    for (let j = 0; j < bytes.length; j++) bytes[j] = Math.floor(rand() * 256);
    // Most random bytes read as an inline command; a frame start makes the parser work harder.
    if (rand() < 0.5) bytes.write(['*', '*3\r\n$', '*2\r\n$6\r\nGETJOB\r\n$'][i % 3] as string, 0, 'latin1');
    const socket = await dial();
    socket.on('data', () => {});
    socket.end(bytes);
    await once(socket, 'close');
  }
  await stillServes();
});

const names = [
  'ADDJOB',
  'GETJOB',
  'ACKJOB',
  'FASTACK',
  'NACK',
  'WORKING',
  'QLEN',
  'QPEEK',
  'QSTAT',
  'ENQUEUE',
  'DEQUEUE',
  'DELJOB',
  'SHOW',
  'JSCAN',
  'QSCAN',
  'PAUSE',
  'HELLO',
  'CLUSTER',
  'INFO',
  'PING',
  'TIME',
  'COMMAND',
  'AUTH',
];
const words = [
  'fz',
  'fz2',
  '0',
  '1',
  '-1',
  '10',
  'NOHANG',
  'TIMEOUT',
  'COUNT',
  'FROM',
  'WITHCOUNTERS',
  'REPLICATE',
  'DELAY',
  'RETRY',
  'TTL',
  'MAXLEN',
  'ASYNC',
  'in',
  'out',
  'all',
  'none',
  'state',
  'BUSYLOOP',
  'QUEUE',
  'STATE',
  'queued',
  'REPLY',
  'all',
  'NODES',
  'D-00000000-AAAAAAAAAAAAAAAAAAAAAAAx-05a1',
  '99999999999999999999',
  '',
  'é',
];

void test('fuzz: 2,000 random Disque-looking commands in one pipeline are all answered, then the PING after them', async () => {
  const rand = random(42);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)] as T;
  const socket = await dial();
  let request = '';
  const n = 2000;
  for (let i = 0; i < n; i++) {
    const name = pick(names);
    const args = Array.from({ length: Math.floor(rand() * 6) }, () => pick(words));
    // A GETJOB that blocks would hold every reply after it: these never wait.
    if (name === 'GETJOB') args.unshift('NOHANG');
    const all = [name, ...args];
    request += `*${all.length}\r\n${all.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
  }
  request += '*2\r\n$4\r\nPING\r\n$3\r\nend\r\n';
  let text = '';
  const done = new Promise<void>((resolve) =>
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      if (text.endsWith('$3\r\nend\r\n')) resolve();
    }),
  );
  socket.write(request);
  await done;
  assert.ok(!text.includes('-ERR Protocol error'), 'every command was well-formed');
  assert.ok(text.includes('+PONG') || text.includes(':0'), 'the commands were answered');
  socket.destroy();
  await stillServes();
});
