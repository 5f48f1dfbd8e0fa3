// BlockQueue's config.yaml as `spool serve --config`: its settings mapped, those without effect
// noted, those spool cannot honour refused; and a server started from one serves BlockQueue's
// routes on a SQLite file.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ValidationError } from '../src/index.ts';
import { serveSettings } from '../src/cli/settings.ts';
import { request } from './server/harness.ts';

const root = mkdtempSync(join(tmpdir(), 'spool-bqconfig-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** A config.yaml in BlockQueue's layout (its sections and keys; these values are the test's own). */
const blockQueueYaml = (db: string, port: number, driver = 'sqlite', extra = ''): string =>
  [
    'http:',
    `  port: ${port}`,
    '  shutdown: "30s"',
    `  driver: "${driver}"`,
    'logging:',
    '  level: "debug"',
    '  type: "json"',
    'sqlite:',
    `  db_name: "${db}"`,
    '  busy_timeout: 5000',
    'turso:',
    '  url: "libsql://example.turso.io"',
    'job:',
    '  producer_partition: 16',
    '  consumer_partition: 16',
    'etcd:',
    '  path: "etcdb"',
    '  sync: false',
    'metric:',
    '  enable: false',
    extra,
  ].join('\n');

const file = (name: string, text: string): string => {
  const path = join(root, name);
  writeFileSync(path, text);
  return path;
};

void test('BlockQueue config.yaml: driver sqlite opens sqlite:<db_name> with its busy timeout, port and log level mapped, the rest noted', () => {
  const settings = serveSettings({ config: file('bq.yaml', blockQueueYaml('queue.db', 8080)) }, {});
  assert.equal(settings.store, 'sqlite:queue.db?busyTimeout=5000ms');
  assert.deepEqual([settings.host, settings.port, settings.logLevel], ['127.0.0.1', 8080, 'debug']);
  assert.deepEqual(
    settings.notes.map((note) => note.split(':')[0]),
    ['http.shutdown', 'job.*_partition', 'etcd.*', 'metric.enable'],
  );
  // Flags still win over the file.
  assert.equal(
    serveSettings({ config: file('bq2.yaml', blockQueueYaml('q.db', 8080)), store: 'memory:' }, {}).store,
    'memory:',
  );
});

void test('BlockQueue config.yaml: driver turso on a file opens libsql:<file>', () => {
  const yaml = blockQueueYaml('q.db', 1, 'turso').replace('libsql://example.turso.io', 'file:./turso.db');
  assert.equal(serveSettings({ config: file('turso-file.yaml', yaml) }, {}).store, 'libsql:./turso.db');
});

void test('BlockQueue config.yaml: what spool cannot honour is refused, naming the setting', () => {
  const refused = (name: string, text: string, field: RegExp): void =>
    assert.throws(
      () => serveSettings({ config: file(name, text) }, {}),
      (error: unknown) => error instanceof ValidationError && field.test(error.field),
    );
  refused('turso.yaml', blockQueueYaml('q.db', 1, 'turso'), /turso\.url/);
  refused('mysql.yaml', blockQueueYaml('q.db', 1, 'mysql'), /http\.driver/);
  refused('typo.yaml', blockQueueYaml('q.db', 1).replace('busy_timeout', 'busy_timout'), /sqlite\.busy_timout/);
  refused('text.yaml', blockQueueYaml('q.db', 1).replace('type: "json"', 'type: "text"'), /logging\.type/);
  refused('port.yaml', blockQueueYaml('q.db', 70000), /http\.port/);
  refused('bad.yaml', 'http: [unclosed', /--config/);
});

void test("a YAML config file in spool's own keys works as the JSON one does", () => {
  const settings = serveSettings(
    { config: file('own.yml', 'store: "memory:"\nhttp: "127.0.0.1:9"\nlogLevel: warn\n') },
    {},
  );
  assert.deepEqual([settings.store, settings.port, settings.logLevel], ['memory:', 9, 'warn']);
});

void test("spool serve --config config.yaml serves BlockQueue's routes on the SQLite file it names", async () => {
  const db = join(root, 'served.db');
  const config = file('served.yaml', blockQueueYaml(db, 0));
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve', '--config', config], {
    cwd: join(import.meta.dirname, '..'),
  });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  try {
    const base = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', () => {
        const url = /"url":"([^"]+)"/.exec(out)?.[1];
        if (url !== undefined) resolve(url);
      });
      void exited.then((code) => reject(new Error(`exited ${code}: ${out}`)));
    });
    const subscribers = [{ name: 'worker', option: { max_attempts: 3, visibility_duration: '1m' } }];
    assert.equal((await request(base, 'POST', '/topics', { name: 'orders', subscribers })).status, 200);
    assert.equal((await request(base, 'POST', '/topics/orders/messages', { message: 'first' })).status, 200);
    const read = await request(base, 'GET', '/topics/orders/subscribers/worker?timeout=1s');
    assert.equal(read.status, 200);
    assert.deepEqual(
      (read.body as { data: { message: string }[] }).data.map((m) => m.message),
      ['first'],
    );
    assert.ok(existsSync(db));
    assert.match(out, /etcd\.\*/);
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
});
