// A crowd of idle connections, more than the server has file descriptors (issue 20: 712 idle
// connections under `ulimit -n 512` made the file store's next segment fail with EMFILE, and
// every add answered 500 from then on). `spool serve` runs under `ulimit -n 256` with its
// defaults but a short idle time-out: the crowd must not take the store's descriptors (adds on a
// connection opened before it go on, across a new segment), and the server closes the idle
// connections by itself and serves new ones afterwards.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { request, serve, stop } from './server/harness.ts';

const openFiles = 256;
const crowd = 400;
const batches = 10;

/** POSTs JSON over `agent`, whose one kept-alive socket was opened before the crowd came. */
function post(agent: Agent, base: string, path: string, body: unknown): Promise<{ status: number; text: string }> {
  const bytes = Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      new URL(path, base),
      {
        agent,
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': bytes.length },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    req.end(bytes);
  });
}

/** Opens a connection that sends nothing; resolves once it is open (or already refused) with its close. */
function idleConnection(base: string): Promise<{ socket: Socket; closed: Promise<void> }> {
  const { hostname, port } = new URL(base);
  const socket = connect(Number(port), hostname);
  socket.on('error', () => {});
  // Read whatever the server says (its 408), so that its close reaches us.
  socket.resume();
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return new Promise((resolve) => {
    socket.once('connect', () => resolve({ socket, closed }));
    socket.once('close', () => resolve({ socket, closed }));
  });
}

/** Rejects after `ms` with `message`: a crowd that is never let go would hang the test. */
const failAfter = (ms: number, message: string): Promise<never> =>
  new Promise((_, reject) => setTimeout(() => reject(new Error(message)), ms).unref());

void test(`${crowd} idle connections under ulimit -n ${openFiles}: adds go on, the crowd is closed, the server serves again`, async () => {
  const dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'spool-crowd-'));
  const served = await serve(`file:${dir}?durability=none`, 'src/cli/main.ts', {
    // Node's client keeps a socket for the server's keep-alive time less a second: 3s leaves it 2.
    args: ['--idle-timeout', '3s'],
    openFiles,
  });
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const first = await post(agent, served.base, '/v1/queues/crowd/jobs', { data: 'before' });
    assert.equal(first.status, 201, first.text);

    const connections = await Promise.all(Array.from({ length: crowd }, () => idleConnection(served.base)));

    // 10 batches of 8 payloads of 900 kB: past the 64 MiB of a segment, so the store opens a new
    // one (and writes a checkpoint) while the crowd is there.
    const payload = 'x'.repeat(900_000);
    for (let batch = 0; batch < batches; batch++) {
      const added = await post(agent, served.base, '/v1/queues/crowd/jobs/batch', {
        jobs: Array.from({ length: 8 }, () => ({ data: payload })),
      });
      assert.equal(added.status, 201, `batch ${batch} during the crowd: ${added.text}`);
    }

    await Promise.race([
      Promise.all(connections.map((c) => c.closed)),
      failAfter(30_000, 'the server kept idle connections open'),
    ]);
    agent.destroy();

    assert.deepEqual((await request(served.base, 'GET', '/healthz')).body, { ok: true });
    const after = await request(served.base, 'POST', '/v1/queues/crowd/jobs', { data: 'after' });
    assert.equal(after.status, 201, after.text);
    const counts = (await request(served.base, 'GET', '/v1/queues/crowd/counts')).body as { waiting: number };
    assert.equal(counts.waiting, 2 + batches * 8);
  } finally {
    agent.destroy();
    // A server that a crowd stalled may not stop on SIGTERM: the test has failed then anyway.
    const killer = setTimeout(() => served.child.kill('SIGKILL'), 10_000);
    await stop(served);
    clearTimeout(killer);
    rmSync(dir, { recursive: true, force: true });
  }
});
