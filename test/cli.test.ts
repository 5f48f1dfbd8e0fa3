// The spool command as a shell user meets it: exit codes, settings from flags, environment and
// a config file, and a graceful stop on SIGTERM that answers a pending long-poll.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createNetServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { open, ValidationError } from '../src/index.ts';
import { serveSettings } from '../src/cli/settings.ts';
import { request, serve, stop } from './server/harness.ts';
import { cli, runCli as run } from './support/cli.ts';

const root = mkdtempSync(join(tmpdir(), 'spool-cli-'));
after(() => rmSync(root, { recursive: true, force: true }));

void test('version prints the package version; bad usage exits 2 with a message', () => {
  assert.match(run(['version']).stdout, /^\d+\.\d+\.\d+\n$/);
  const unknown = run(['bogus']);
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /unknown command 'bogus'/);
  const badHttp = run(['serve', '--http', 'nowhere']);
  assert.equal(badHttp.status, 2);
  assert.match(badHttp.stderr, /--http: must be \[host:\]port/);
  const shortToken = run(['serve', '--store', 'memory:'], { SPOOL_TOKEN: 'short' });
  assert.equal(shortToken.status, 2);
  assert.match(shortToken.stderr, /at least 16 characters/);
  const badConfig = join(root, 'bad.json');
  writeFileSync(badConfig, JSON.stringify({ stroe: 'memory:' }));
  const typo = run(['serve', '--config', badConfig]);
  assert.equal(typo.status, 2);
  assert.match(typo.stderr, /stroe: unknown setting/);
  // A store no backend handles: the message names every scheme spool has.
  const unknownStore = run(['stats', '--store', 'mysql://db']);
  assert.equal(unknownStore.status, 2);
  assert.match(unknownStore.stderr, /^spool: no store for "mysql:\/\/db": use [^\n]+\n$/);
  for (const scheme of [
    'file:',
    'memory:',
    'sqlite:',
    'libsql:',
    'leveldb:',
    'redis://',
    'rediss://',
    'redis+cluster://',
    'postgres://',
  ])
    assert.ok(unknownStore.stderr.includes(scheme), `no ${scheme} in ${unknownStore.stderr}`);
});

void test('a reader that stops early (| head) ends the command quietly: no EPIPE stack trace', async () => {
  const dir = join(root, 'epipe');
  {
    await using spool = await open(`file:${dir}`);
    // Past a pipe's 64 KiB, so the command is still printing when head has gone.
    await spool.queue('q').addBulk(Array.from({ length: 2000 }, (_, i) => ({ data: { i, pad: 'x'.repeat(100) } })));
  }
  const node = [process.execPath, ...cli].map((word) => `'${word}'`).join(' ');
  const piped = spawnSync('sh', ['-c', `${node} peek q -n 2000 --store 'file:${dir}' | head -c 10 > /dev/null`], {
    encoding: 'utf8',
  });
  assert.equal(piped.status, 0);
  assert.equal(piped.stderr, '');
});

void test('demo runs jobs through a worker', () => {
  const demo = run(['demo', '--store', 'memory:', '--jobs', '200']);
  assert.equal(demo.status, 0, demo.stderr);
  assert.match(demo.stdout, /added and processed 200 jobs/);
});

void test('demo and migrate take their store from SPOOL_STORE, as every command does', () => {
  const dir = join(root, 'demo-env');
  const demo = run(['demo', '--jobs', '20'], { SPOOL_STORE: `file:${dir}` });
  assert.equal(demo.status, 0, demo.stderr);
  assert.match(demo.stdout, new RegExp(`^spool demo on file:${dir}: added and processed 20 jobs`));
  assert.ok(existsSync(dir), 'the demo ran in the SPOOL_STORE directory');
  // Not a postgres:// store: refused for what it is, not as a missing --store.
  const migrate = run(['migrate'], { SPOOL_STORE: 'memory:' });
  assert.equal(migrate.status, 2);
  assert.equal(
    migrate.stderr,
    'spool: store: spool migrate runs the migrations of a postgres:// store; others migrate at open\n',
  );
});

void test('serve: config file and SPOOL_* settings, token enforced; SIGTERM answers a long-poll, closes the store, exits 0', async () => {
  const dir = join(root, 'data');
  const config = join(root, 'spool.json');
  writeFileSync(config, JSON.stringify({ store: `file:${dir}`, http: '127.0.0.1:1', logLevel: 'info' }));
  const token = 'a-token-of-sixteen-chars';
  const child = spawn(process.execPath, [...cli, 'serve', '--config', config], {
    env: { ...process.env, SPOOL_HTTP: '127.0.0.1:0', SPOOL_TOKEN: token },
  });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const base = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', () => {
      const url = /"url":"([^"]+)"/.exec(out)?.[1];
      if (url !== undefined) resolve(url);
    });
    void exited.then((code) => reject(new Error(`exited ${code}`)));
  });
  const auth = { authorization: `Bearer ${token}` };
  assert.equal((await request(base, 'GET', '/v1/queues/q/counts')).status, 401);
  assert.equal((await request(base, 'POST', '/v1/queues/q/jobs', { data: 'kept' }, auth)).status, 201);
  const started = Date.now();
  const pending = request(base, 'POST', '/v1/lease', { queues: ['empty'], wait: '60s' }, auth);
  await new Promise((resolve) => setTimeout(resolve, 200));
  child.kill('SIGTERM');
  const answer = await pending;
  assert.equal(answer.status, 200);
  assert.deepEqual(answer.body, { jobs: [] });
  assert.equal(await exited, 0);
  // Promptly: neither the long-poll's 60s nor a kept-alive socket holds the process.
  assert.ok(Date.now() - started < 10_000, `exited after ${Date.now() - started}ms`);
  assert.match(out, /"msg":"stopped"/);
  // The store was closed cleanly: its lock is free and the job is there.
  await using spool = await open(`file:${dir}`);
  assert.equal((await spool.queue('q').counts()).waiting, 1);
});

void test("serve's config file takes a port as a number for http and resp, as a string", () => {
  const json = join(root, 'ports.json');
  writeFileSync(json, JSON.stringify({ store: 'memory:', http: 8123, resp: 7712 }));
  const yaml = join(root, 'ports.yaml');
  writeFileSync(yaml, 'store: "memory:"\nhttp: 8124\nresp: "0.0.0.0:7713"\n');
  const fromJson = serveSettings({ config: json }, {});
  assert.deepEqual(
    [fromJson.host, fromJson.port, fromJson.resp],
    ['127.0.0.1', 8123, { host: '127.0.0.1', port: 7712 }],
  );
  const fromYaml = serveSettings({ config: yaml }, {});
  assert.deepEqual([fromYaml.host, fromYaml.port, fromYaml.resp], ['127.0.0.1', 8124, { host: '0.0.0.0', port: 7713 }]);
  for (const http of [-1, 70_000, 80.5, true]) {
    writeFileSync(json, JSON.stringify({ store: 'memory:', http }));
    assert.throws(
      () => serveSettings({ config: json }, {}),
      (e: unknown) => e instanceof ValidationError && e.field === '--http',
      String(http),
    );
  }
});

void test("serve takes PORT, as hosting platforms set it, on every interface; an --http, SPOOL_HTTP or the file's http wins", () => {
  const address = (flags: { http?: string; config?: string }, vars: NodeJS.ProcessEnv) => {
    const settings = serveSettings(flags, vars);
    return `${settings.host}:${settings.port}`;
  };
  assert.equal(address({}, {}), '127.0.0.1:8080');
  assert.equal(address({}, { PORT: '5000' }), '0.0.0.0:5000');
  assert.equal(address({ http: '127.0.0.1:6000' }, { PORT: '5000' }), '127.0.0.1:6000');
  assert.equal(address({}, { PORT: '5000', SPOOL_HTTP: '7000' }), '127.0.0.1:7000');
  const json = join(root, 'port.json');
  writeFileSync(json, JSON.stringify({ http: 8123 }));
  assert.equal(address({ config: json }, { PORT: '5000' }), '127.0.0.1:8123');
  assert.throws(
    () => address({}, { PORT: 'http' }),
    (e: unknown) => e instanceof ValidationError && e.field === 'PORT',
  );
});

void test('serve whose --resp or --http port is taken exits 1 with one line, closing what it started: no LOCK, no SERVING.json left', async () => {
  const taken = createNetServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  const port = (taken.address() as AddressInfo).port;
  try {
    const dir = join(root, 'port-taken');
    for (const ports of [
      ['--http', '127.0.0.1:0', '--resp', `127.0.0.1:${port}`],
      ['--http', `127.0.0.1:${port}`, '--resp', '127.0.0.1:0'],
    ]) {
      // Not runCli: the old serve went on serving HTTP, and a test must not wait out its 30 s.
      const failed = spawnSync(process.execPath, [...cli, 'serve', '--store', `file:${dir}`, ...ports], {
        encoding: 'utf8',
        timeout: 10_000,
      });
      assert.equal(failed.status, 1, `${ports.join(' ')}: ${failed.signal ?? ''} ${failed.stdout}${failed.stderr}`);
      assert.equal(failed.stderr, `spool: listen EADDRINUSE: address already in use 127.0.0.1:${port}\n`);
      assert.equal(failed.stdout, '', 'nothing said to be serving');
      assert.deepEqual(
        readdirSync(dir).filter((name) => name.startsWith('LOCK') || name === 'SERVING.json'),
        [],
      );
    }
    const served = await serve(`file:${dir}`);
    assert.deepEqual((await request(served.base, 'GET', '/healthz')).body, { ok: true });
    await stop(served);
  } finally {
    await new Promise((resolve) => taken.close(resolve));
  }
});

void test('add, peek, stats, topic, dead and work on a local data directory', async () => {
  const store = `file:${join(root, 'local')}`;
  const local = (...args: string[]) => run(args, { SPOOL_STORE: store });
  assert.equal(local('add', 'jobs', '{"n":1}').stdout, '1\n');
  assert.equal(local('add', 'jobs', '"fail me"', '--priority', '5').stdout, '2\n');
  const bad = local('add', 'jobs', 'not json');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /payload: is not JSON/);
  assert.deepEqual(
    local('peek', 'jobs')
      .stdout.trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { data: unknown }).data),
    ['fail me', { n: 1 }],
  );
  assert.equal(local('topic', 'create', 'cart', 'counter', 'created').status, 0);
  assert.deepEqual(Object.keys(JSON.parse(local('topic', 'publish', 'cart', '{"x":1}').stdout) as object), [
    'counter',
    'created',
  ]);
  assert.match(local('topic', 'status', 'cart').stdout, /counter\twaiting 1\tin flight 0\tdead 0/);
  const all = local('stats').stdout;
  assert.match(all, /cart\.created\s+1\s+0\s+0\s+0\s+0/);
  assert.match(all, /^jobs\s+2\s+0\s+0\s+0\s+0/m, 'stats with no names lists plain queues too');
  const missing = local('topic', 'status', 'nope');
  assert.equal(missing.status, 1);
  assert.equal(missing.stderr, 'spool: topic nope: not found\n');

  // work: the payload arrives on stdin; exit 0 acks, non-zero fails the attempt.
  const seen = join(root, 'seen.txt');
  writeFileSync(seen, '');
  const worker = spawn(
    process.execPath,
    [...cli, 'work', 'jobs', '--', 'sh', '-c', `p=$(cat); echo "$p" >> ${seen}; case "$p" in *fail*) exit 1;; esac`],
    { env: { ...process.env, SPOOL_STORE: store } },
  );
  const exited = new Promise((resolve) => worker.once('exit', resolve));
  const deadline = Date.now() + 20_000;
  while (!readFileSync(seen, 'utf8').includes('{"n":1}')) {
    assert.ok(Date.now() < deadline, 'work did not run the command');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  worker.kill('SIGTERM');
  await exited;
  assert.match(readFileSync(seen, 'utf8'), /^"fail me"$/m);
  // {"n":1} completed; "fail me" failed its attempt and waits for a retry, not dead.
  assert.match(local('stats', 'jobs').stdout, /jobs\s+(0\s+1|1\s+0)\s+0\s+0\s+1/);
  assert.equal(local('dead', 'jobs').stdout, '');
  assert.equal(local('dead', 'jobs', '--retry').stdout, 'retried 0\n');

  // Options take the same durations as the library: a back-off alone is a fixed delay.
  assert.equal(local('topic', 'subscribe', 'cart', 'slow', '--backoff', '5min', '--visibility', '1.5h').status, 0);
  const badBackoff = local('add', 'jobs', '1', '--backoff', 'soon');
  assert.equal(badBackoff.status, 2);
  assert.match(badBackoff.stderr, /backoff: "soon" is not a duration/);
  await using spool = await open(store);
  const slow = (await spool.topic('cart').info()).subscribers.find((s) => s.name === 'slow');
  assert.equal(slow?.visibilityMs, 5_400_000);
  assert.deepEqual(slow?.backoff, { kind: 'fixed', delayMs: 300_000, maxDelayMs: 3_600_000, jitter: 0 });
});

void test('the same commands against a server (SPOOL_SERVER, or --server)', async () => {
  const served = await serve('memory:');
  try {
    // SPOOL_STORE names no store at all: every command must go to the server.
    const remote = (...args: string[]) => run(args, { SPOOL_SERVER: served.base, SPOOL_STORE: 'unused:' });
    assert.equal(remote('add', 'jobs', '{"n":1}').stdout, '1\n');
    assert.equal(remote('topic', 'create', 'cart', 'counter').status, 0);
    assert.equal(remote('topic', 'publish', 'cart', '"x"').stdout, '{"counter":"2"}\n');
    assert.match(remote('stats', 'jobs').stdout, /jobs\s+1\s+0\s+0\s+0\s+0/);
    assert.match(remote('stats').stdout, /cart\.counter\s+1/);
    assert.match(remote('stats').stdout, /^jobs\s+1/m);
    assert.deepEqual((JSON.parse(remote('peek', 'jobs').stdout) as { data: unknown }).data, { n: 1 });
    const seen = join(root, 'remote-seen.txt');
    writeFileSync(seen, '');
    const worker = spawn(process.execPath, [...cli, 'work', 'jobs', '--', 'sh', '-c', `cat >> ${seen}`], {
      env: { ...process.env, SPOOL_SERVER: served.base, SPOOL_STORE: 'unused:' },
    });
    const exited = new Promise((resolve) => worker.once('exit', resolve));
    for (const deadline = Date.now() + 20_000; readFileSync(seen, 'utf8') !== '{"n":1}';) {
      assert.ok(Date.now() < deadline, 'remote work did not run the command');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    worker.kill('SIGTERM');
    await exited;
    assert.match(remote('stats', 'jobs').stdout, /jobs\s+0\s+0\s+0\s+0\s+1/);
  } finally {
    await stop(served);
  }
  const unreachable = run(['add', 'jobs', '1', '--server', 'http://127.0.0.1:1']);
  assert.equal(unreachable.status, 1);
  assert.match(unreachable.stderr, /^spool: cannot reach http:\/\/127\.0\.0\.1:1/);
});

void test('a --store flag wins over SPOOL_SERVER; --store with --server is bad usage', async () => {
  const dir = join(root, 'flag-over-env');
  // The server named by the variable is not there: a command that went to it would fail.
  const added = run(['add', 'jobs', '{"n":1}', '--store', `file:${dir}`], { SPOOL_SERVER: 'http://127.0.0.1:1' });
  assert.equal(added.status, 0, added.stderr);
  assert.equal(added.stdout, '1\n');
  {
    await using spool = await open(`file:${dir}`);
    assert.deepEqual((await spool.queue('jobs').get('1'))?.data, { n: 1 });
  }
  // A --server flag still wins over SPOOL_STORE.
  const remote = run(['stats', '--server', 'http://127.0.0.1:1'], { SPOOL_STORE: `file:${dir}` });
  assert.equal(remote.status, 1);
  assert.match(remote.stderr, /^spool: cannot reach http:\/\/127\.0\.0\.1:1/);
  const both = run(['stats', '--store', `file:${dir}`, '--server', 'http://127.0.0.1:1']);
  assert.equal(both.status, 2);
  assert.match(both.stderr, /^error: --store and --server name two places: give one\n/);
});

void test('a --server or --store URL the CLI refuses, mistyped or not, is named without its password', () => {
  const urls = [
    ['--server', 'http://user:topsecret@127.0.0.1:notaport'],
    ['--server', 'htp://user:topsecret@127.0.0.1:7999'],
    ['--store', 'redis:/:topsecret@127.0.0.1:6379'],
    ['--store', 'redis//:topsecret@127.0.0.1'],
  ];
  for (const where of urls) {
    const refused = run(['stats', ...where]);
    assert.ok(refused.status === 1 || refused.status === 2, refused.stderr);
    assert.match(refused.stderr, /^spool: .*:\*\*\*@/);
    assert.doesNotMatch(refused.stdout + refused.stderr, /topsecret/);
  }
});

void test('--help and a usage mistake name SPOOL_STORE, SPOOL_SERVER and SPOOL_TOKEN, never their values', () => {
  const env = {
    SPOOL_STORE: 'redis://:storesecret@127.0.0.1:6379',
    SPOOL_SERVER: 'http://127.0.0.1:7999',
    SPOOL_TOKEN: 'tokensecret-0123456789',
  };
  for (const args of [
    ['add', '--help'],
    ['work', '--help'],
    ['demo', '--help'],
    ['migrate', '--help'],
    ['add', 'q'],
  ]) {
    const ran = run(args, env);
    assert.equal(ran.status, args.includes('--help') ? 0 : 2, ran.stderr);
    const said = ran.stdout + ran.stderr;
    assert.match(said, /env:\s+SPOOL_STORE/, `${args.join(' ')}`);
    assert.doesNotMatch(said, /storesecret|tokensecret/, `${args.join(' ')}`);
  }
});

void test('the built binary (dist/cli/main.js, as npx spool runs it) serves and stops', async () => {
  // Builds what `npm run build` (and `npm pack`, through prepack) builds.
  const build = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  assert.equal(build.status, 0, build.stdout + build.stderr);
  const version = spawnSync(process.execPath, ['dist/cli/main.js', 'version'], { encoding: 'utf8' });
  assert.match(version.stdout, /^\d+\.\d+\.\d+\n$/);
  const served = await serve('memory:', 'dist/cli/main.js');
  try {
    assert.deepEqual((await request(served.base, 'GET', '/healthz')).body, { ok: true });
    assert.equal((await request(served.base, 'POST', '/topics', { name: 'cart' })).status, 200);
  } finally {
    await stop(served);
  }
});
