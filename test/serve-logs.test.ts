// What `spool serve` writes to its logs: no password of a store URL, ever; one start-up line
// naming the store and the address; a line per request with --access-log; PORT as the port.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, test } from 'node:test';
import { redactUrl } from '../src/index.ts';
import { freePort, PrivateRedis, redisServerProblem, skipUnless } from './fixtures/redis.ts';
import { request } from './server/harness.ts';

const password = 'sekret-pw-7f3a9c';
const skip = skipUnless(redisServerProblem(), 'redis-server', 'install redis-server to run these tests');
let redis: PrivateRedis | undefined;

before(async () => {
  // An ACL user of its own: the default user stays password-less, so the fixture's PING still works.
  if (skip === false) redis = await PrivateRedis.start([`user spool on >${password} ~* &* +@all`]);
});
after(() => redis?.stop());

interface Run {
  /** stdout and stderr together, as an operator's log collector keeps them. */
  output(): string;
  /** Resolves with the server's URL once it logs its start-up line. */
  serving: Promise<string>;
  /** The exit code, once it exits by itself. */
  exited: Promise<number | null>;
  stop(): Promise<number | null>;
}

function serve(args: string[], env: NodeJS.ProcessEnv = process.env): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve', ...args], { env });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const serving = new Promise<string>((resolve, reject) => {
    const read = (chunk: Buffer): void => {
      output += chunk.toString();
      const url = /"msg":"spool serving"/.test(output) ? /"url":"([^"]+)"/.exec(output)?.[1] : undefined;
      if (url !== undefined) resolve(url);
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
    void exited.then((code) => reject(new Error(`spool serve exited with ${code}: ${output}`)));
  });
  serving.catch(() => undefined);
  return {
    output: () => output,
    serving,
    exited,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

void test('redactUrl masks the password of user:password@ and ?password=, and leaves the rest', () => {
  assert.equal(
    redactUrl('redis://default:pw@10.0.0.1:6379/2?prefix=x'),
    'redis://default:***@10.0.0.1:6379/2?prefix=x',
  );
  assert.equal(redactUrl('redis+cluster://:p@ss@h1:7000,h2:7001'), 'redis+cluster://:***@h1:7000,h2:7001');
  assert.equal(redactUrl('rediss://h:6380?password=pw&prefix=x'), 'rediss://h:6380?password=***&prefix=x');
  assert.equal(redactUrl('redis://user@h:6379'), 'redis://user@h:6379');
  assert.equal(redactUrl('file:./spool-data?durability=none'), 'file:./spool-data?durability=none');
});

void test('redactUrl masks the password of a mistyped URL too, whatever the spelling of its scheme', () => {
  assert.equal(redactUrl('redis:/:topsecret@127.0.0.1:6379'), 'redis:/:***@127.0.0.1:6379');
  assert.equal(redactUrl('redis//:topsecret@127.0.0.1'), 'redis//:***@127.0.0.1');
  assert.equal(redactUrl('htp://user:topsecret@h'), 'htp://user:***@h');
  assert.equal(redactUrl('user:topsecret@h:6379'), 'user:***@h:6379');
  // A password pasted without percent-encoding: what ends a host does not end the mask.
  assert.equal(redactUrl('redis://:top/sec#ret?x@h:6379/2?prefix=p'), 'redis://:***@h:6379/2?prefix=p');
  // An @ in the path after the host is no password's end.
  assert.equal(redactUrl('https://u:topsecret@h/a@b'), 'https://u:***@h/a@b');
  for (const plain of ['http://127.0.0.1:8080/base', 'redis://127.0.0.1:6379/0', 'file:///srv/q@1', 'memory:'])
    assert.equal(redactUrl(plain), plain);
});

void test(
  'serve on a Redis URL with a password: logged once as redis://spool:***@, never the password; requests logged with --access-log',
  { skip },
  async () => {
    const url = `redis://spool:${password}@127.0.0.1:${redis?.port}?prefix=serve-logs`;
    const run = serve(['--store', url, '--http', '127.0.0.1:0', '--access-log']);
    try {
      const base = await run.serving;
      assert.equal((await request(base, 'POST', '/v1/queues/mail/jobs', { data: 1 })).status, 201);
      assert.equal((await request(base, 'GET', '/v1/queues/mail/jobs/none')).status, 404);
    } finally {
      assert.equal(await run.stop(), 0);
    }
    const lines = run
      .output()
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.ok(!run.output().includes(password), run.output());
    // One line says where it listens and what it opened; fastify's own "Server listening" is gone.
    const started = lines.filter((l) => JSON.stringify(l).includes('127.0.0.1:'));
    assert.equal(started.length, 1, run.output());
    assert.equal(started[0]?.msg, 'spool serving');
    assert.equal(started[0]?.store, `redis://spool:***@127.0.0.1:${redis?.port}?prefix=serve-logs`);
    const requests = lines.filter((l) => l.msg === 'request');
    assert.deepEqual(
      requests.map(({ level, method, route, status }) => ({ level, method, route, status })),
      [
        { level: 30, method: 'POST', route: '/v1/queues/:queue/jobs', status: 201 },
        { level: 30, method: 'GET', route: '/v1/queues/:queue/jobs/:id', status: 404 },
      ],
    );
    assert.ok(requests.every((l) => typeof l.ms === 'number'));
  },
);

void test(
  'serve on a Redis URL with a wrong password fails with exit 1 and does not print the password',
  { skip },
  async () => {
    const wrong = 'not-the-pw-41c2';
    const run = serve(['--store', `redis://spool:${wrong}@127.0.0.1:${redis?.port}`, '--http', '127.0.0.1:0']);
    assert.equal(await run.exited, 1);
    assert.match(run.output(), /cannot connect to redis:\/\/spool:\*\*\*@127\.0\.0\.1/);
    assert.ok(!run.output().includes(wrong), run.output());
  },
);

void test('without --http or SPOOL_HTTP, serve listens on 0.0.0.0:$PORT; requests are not logged at info', async () => {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port) };
  delete env.SPOOL_HTTP;
  const run = serve(['--store', 'memory:'], env);
  try {
    assert.equal(await run.serving, `http://0.0.0.0:${port}`);
    assert.equal((await request(`http://127.0.0.1:${port}`, 'GET', '/healthz')).status, 200);
  } finally {
    assert.equal(await run.stop(), 0);
  }
  assert.doesNotMatch(run.output(), /"msg":"request"/);
});
