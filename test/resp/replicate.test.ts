// ADDJOB … REPLICATE n on a Redis store with no replica: the wait for copies ends at ADDJOB's
// ms-timeout with Disque's NOREPL, the job is then deleted as Disque's best-effort clean-up does,
// and ASYNC answers without waiting for copies at all.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { open } from '../../src/index.ts';
import type { Spool } from '../../src/index.ts';
import { createRespServer } from '../../src/server/index.ts';
import type { RespServer } from '../../src/server/index.ts';
import { dropPrefix, redisProblem, redisUrl, skipUnless, withPrefix } from '../fixtures/redis.ts';

const skip = skipUnless(
  await redisProblem(),
  `Redis at ${redisUrl}`,
  'start redis-server on 127.0.0.1:6379 or set SPOOL_REDIS_URL',
);
const prefix = `spool-replicate-${process.pid}`;
/** How long the store's own WAIT for a replica lasts: far longer than the ms-timeouts below. */
const storeWaitMs = 1500;

let spool: Spool;
let server: RespServer;
let port: number;
before(async () => {
  if (skip !== false) return;
  spool = await open(`${withPrefix(redisUrl, prefix)}&replicateTimeout=${storeWaitMs}`);
  server = createRespServer({ spool });
  ({ port } = await server.listen(0));
});
after(async () => {
  if (skip !== false) return;
  await server.close();
  await spool.close();
  await dropPrefix(redisUrl, prefix);
});

const run = promisify(execFile);
const cli = async (...args: string[]): Promise<string> =>
  (await run('redis-cli', ['-p', String(port), ...args])).stdout.trimEnd();

async function until(check: () => Promise<boolean>, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 50)))
    if (await check()) return true;
  return false;
}

const noRepl = 'NOREPL Timeout reached before replicating to the requested number of nodes';

void test(
  'REPLICATE 2 answers NOREPL at ms-timeout, not at the store’s own wait, then the job goes',
  { skip },
  async () => {
    const started = Date.now();
    assert.equal(await cli('ADDJOB', 'repl-timeout', 'x', '200', 'REPLICATE', '2'), noRepl);
    const tookMs = Date.now() - started;
    assert.ok(tookMs >= 190 && tookMs < storeWaitMs - 300, `answered after ${tookMs} ms`);
    assert.equal(await cli('QLEN', 'repl-timeout'), '1', 'added, still waiting for its copy');
    assert.ok(await until(async () => (await cli('QLEN', 'repl-timeout')) === '0', storeWaitMs + 2000), 'cleaned up');
  },
);

void test('REPLICATE 2 with ms-timeout 0 waits for the store’s own bound, then NOREPL', { skip }, async () => {
  const started = Date.now();
  assert.equal(await cli('ADDJOB', 'repl-store', 'x', '0', 'REPLICATE', '2'), noRepl);
  assert.ok(Date.now() - started >= storeWaitMs - 50);
  assert.ok(await until(async () => (await cli('QLEN', 'repl-store')) === '0', 2000), 'cleaned up');
});

void test(
  'REPLICATE 2 with an ms-timeout past 24.8 days waits for the store’s own bound, not 1 ms',
  { skip },
  async () => {
    // setTimeout fires a wait past 2^31 - 1 ms at once: NOREPL came back in a few ms.
    const started = Date.now();
    assert.equal(await cli('ADDJOB', 'repl-long', 'x', '3000000000', 'REPLICATE', '2'), noRepl);
    const tookMs = Date.now() - started;
    assert.ok(tookMs >= storeWaitMs - 50, `answered after ${tookMs} ms`);
  },
);

void test('REPLICATE 2 ASYNC answers the id at once and keeps the job', { skip }, async () => {
  const started = Date.now();
  assert.match(await cli('ADDJOB', 'repl-async', 'x', '100', 'REPLICATE', '2', 'ASYNC'), /^D-/);
  assert.ok(Date.now() - started < 1000);
  assert.equal(await cli('QLEN', 'repl-async'), '1');
});
