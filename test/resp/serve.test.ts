// `spool serve --resp` as a process: RESP and HTTP on one store, the same tokens, and a SIGTERM
// that answers a blocked GETJOB before the process exits 0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { Redis } from 'ioredis';
import { request } from '../server/harness.ts';
import { cli, runCli } from '../support/cli.ts';

const token = 'serve-resp-token-0123456789';

void test('serve --http and --resp share one store and its tokens; SIGTERM answers a blocked GETJOB, exits 0', async () => {
  const child = spawn(
    process.execPath,
    [...cli, 'serve', '--store', 'memory:', '--http', '127.0.0.1:0', '--resp', '127.0.0.1:0'],
    { stdio: 'pipe', env: { ...process.env, SPOOL_TOKEN: token } },
  );
  let out = '';
  const started = new Promise<{ base: string; port: number }>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const base = /"url":"([^"]+)"/.exec(out)?.[1];
      const resp = /"resp":"[^"]+:(\d+)"/.exec(out)?.[1];
      if (base !== undefined && resp !== undefined) resolve({ base, port: Number(resp) });
    });
    child.once('exit', (code) => reject(new Error(`spool serve exited with ${code}: ${out}`)));
  });
  const { base, port } = await started;
  // ioredis's ready check is an INFO, which needs AUTH first here; no reconnects once it stops.
  const oneShot = { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null };
  const redis = new Redis({ port, ...oneShot, enableReadyCheck: false });
  const blocker = new Redis({ port, ...oneShot, password: token });
  try {
    await assert.rejects(redis.call('QLEN', 'mail'), /NOAUTH/);
    assert.equal(await redis.call('AUTH', token), 'OK');
    const id = (await redis.call('ADDJOB', 'mail', 'over resp', '0')) as string;
    const auth = { authorization: `Bearer ${token}` };
    const leased = await request(base, 'POST', '/v1/lease', { queues: ['mail'] }, auth);
    const [job] = (leased.body as { jobs: { data: unknown; token: string }[] }).jobs;
    assert.equal(job?.data, 'over resp');
    assert.equal((await request(base, 'POST', '/v1/ack', { token: job?.token }, auth)).status, 200);
    assert.equal(await redis.call('SHOW', id), null, 'acked over HTTP, gone over RESP');

    await blocker.connect();
    // The GETJOB is blocked in the server once the count of commands run passes what our INFOs account for.
    const counted = async () =>
      Number(/total_commands_processed:(\d+)/.exec((await redis.call('INFO')) as string)?.[1]);
    const before = await counted();
    const blocked = blocker.call('GETJOB', 'FROM', 'nothing-comes');
    for (let infos = 1; (await counted()) - before - infos < 1; infos++)
      await new Promise((resolve) => setImmediate(resolve));
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    assert.equal(await blocked, null, 'the blocked GETJOB is answered nil');
    const [code] = (await exited) as [number | null];
    assert.equal(code, 0);
    assert.match(out, /"msg":"stopped"/);
  } finally {
    redis.disconnect();
    blocker.disconnect();
    child.kill('SIGKILL');
  }
});

void test('serve --resp with a bad address exits 2 and says which flag', () => {
  const bad = runCli(['serve', '--resp', 'nowhere']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--resp: must be \[host:\]port, e\.g\. 127\.0\.0\.1:7711/);
});
