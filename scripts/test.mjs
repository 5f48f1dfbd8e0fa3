#!/usr/bin/env node
// `npm test`: every *.test.ts under test/, on node's runner with TypeScript through tsx, then the
// files that take their store from SPOOL_TEST_STORE (test/support/test-store.ts) once more on
// each other store. A store whose service is down is a printed skip, or under SPOOL_CI=1 a failure.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

/** The server, client, worker and property tests: the store under them is SPOOL_TEST_STORE's. */
const onEveryStore = [
  'test/server.test.ts',
  'test/server-load.test.ts',
  'test/client.test.ts',
  'test/worker-pipeline.test.ts',
  'test/property.test.ts',
];
/** The stores besides memory (the default) those files run on again. */
const otherStores = ['file', 'redis', 'postgres'];

function find(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? find(join(dir, e.name)) : e.name.endsWith('.test.ts') ? [join(dir, e.name)] : [],
  );
}

function runTests(files, env = {}) {
  const args = ['--import', 'tsx', '--test', '--test-reporter=spec', ...process.argv.slice(2), ...files];
  const result = spawnSync(process.execPath, args, { stdio: 'inherit', env: { ...process.env, ...env } });
  return result.status ?? 1;
}

/** Why `store` cannot be used here, or '' when it can. */
function storeProblem(store) {
  const args = [
    '--import',
    'tsx',
    '--test-reporter=tap',
    '--test-reporter-destination=/dev/null',
    'test/fixtures/store-problem.ts',
    store,
  ];
  const probe = spawnSync(process.execPath, args, { encoding: 'utf8' });
  return probe.status === 0 ? probe.stdout : `the probe failed: ${probe.stderr}`;
}

const failed = [];
if (runTests(find('test').sort()) !== 0) failed.push('the test files');
for (const store of otherStores) {
  const problem = storeProblem(store);
  if (problem !== '') {
    const line = `SPOOL_TEST_STORE=${store}: ${onEveryStore.length} files not run, the store is unavailable (${problem})`;
    if (process.env.SPOOL_CI === '1') {
      console.error(`[fail] ${line}; SPOOL_CI=1 requires it`);
      failed.push(`SPOOL_TEST_STORE=${store}`);
    } else
      console.error(
        `[skip] ${line}; start its service (Redis: SPOOL_REDIS_URL, PostgreSQL: SPOOL_POSTGRES_URL) to run them`,
      );
    continue;
  }
  console.log(`\n# SPOOL_TEST_STORE=${store}: ${onEveryStore.join(' ')}`);
  if (runTests(onEveryStore, { SPOOL_TEST_STORE: store }) !== 0) failed.push(`SPOOL_TEST_STORE=${store}`);
}
if (failed.length > 0) console.error(`\nfailed: ${failed.join(', ')}`);
process.exit(failed.length > 0 ? 1 : 0);
