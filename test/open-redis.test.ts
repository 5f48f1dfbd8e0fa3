// open() and the redis:// schemes without a server: the driver is optional, the URL checked.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { open, ValidationError } from '../src/index.ts';

void test('redis:// without ioredis installed is a MissingDriverError naming the package; memory: still opens', () => {
  const out = execFileSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '--import',
      './test/fixtures/hide-ioredis.ts',
      '--input-type=module',
      '-e',
      `import { open } from './src/index.ts';
       for (const url of ['redis://127.0.0.1:6379', 'rediss://h:6380', 'redis+cluster://h:1,h:2'])
         await open(url).catch((e) => console.log(e.code, e.driver));
       await (await open('memory:')).close();
       console.log('memory ok');`,
    ],
    { encoding: 'utf8' },
  );
  assert.equal(out, 'MISSING_DRIVER ioredis\n'.repeat(3) + 'memory ok\n');
});

void test('a bad prefix or replicateTimeout in a redis URL is a ValidationError before any connection', async () => {
  await assert.rejects(
    open('redis://127.0.0.1:1?prefix=a%20b'),
    (e: unknown) => e instanceof ValidationError && e.field === 'prefix',
  );
  await assert.rejects(
    open('redis://127.0.0.1:1?replicateTimeout=soon'),
    (e: unknown) => e instanceof ValidationError && e.field === 'replicateTimeout',
  );
  // The one duration grammar, as everywhere: past the URL check, the open fails only to connect.
  await assert.rejects(
    open('redis://127.0.0.1:1?replicateTimeout=1.5s'),
    (e: unknown) => !(e instanceof ValidationError),
  );
});
