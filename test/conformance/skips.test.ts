// How runConformance skips: a listed case or area with the listed reason; a case the store's
// declared capabilities rule out is not run, and named; a list entry that names nothing fails.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';

/** Every area but these two, so each run stays short. */
const quiet = Object.fromEntries(
  ['basics', 'ordering', 'time', 'promote', 'blocking', 'worker', 'topics', 'replication'].map((a) => [
    a,
    'not under test',
  ]),
);

// The child is a test run of its own, not a file of this one's.
const { NODE_TEST_CONTEXT: _, ...env } = process.env;

function run(skips: Record<string, string>): { status: number | null; out: string } {
  const child = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--test', '--test-reporter=tap', 'test/fixtures/conformance-skips.ts'],
    { encoding: 'utf8', env: { ...env, SPOOL_SKIPS: JSON.stringify({ ...quiet, ...skips }) } },
  );
  return { status: child.status, out: child.stdout + child.stderr };
}

const stale = "'every skip entry names a case or an area of the suite'";
const aTokensCase = 'a token of an earlier attempt is lost once the job is leased again';

void test('a listed case and a listed area are skipped with their reasons, the rest run', () => {
  const { status, out } = run({ [aTokensCase]: 'tokens expire differently here' });
  assert.equal(status, 0, out);
  assert.match(out, new RegExp(`ok \\d+ - ${aTokensCase} # SKIP tokens expire differently here`));
  assert.match(out, /ok \d+ - a job's current lease is found by its id[^#\n]*\n/);
  assert.match(out, /ok \d+ - fail sends a job straight to dead[^\n]*# SKIP not under test/);
});

void test('a case the capabilities rule out is not run, and the run names it and which capability', () => {
  const { status, out } = run({});
  assert.equal(status, 0, out);
  assert.doesNotMatch(out, /ok \d+ - a lease blocked on one handle takes a job another handle adds/);
  assert.match(
    out,
    /# not for this store: a lease blocked on one handle takes a job another handle adds: capabilities.events is 'process'/,
  );
  assert.doesNotMatch(out, /# SKIP capabilities/);
});

void test('a skip entry that names no case or area fails the run, naming it', () => {
  const { status, out } = run({ 'a case that was renamed': 'flaky once', processes: 'one process' });
  assert.equal(status, 1, out);
  assert.match(out, new RegExp(`not ok \\d+ - ${stale.slice(1, -1)}`));
  assert.match(out, /skips names nothing in the suite: 'a case that was renamed'/);
  assert.doesNotMatch(out, /'processes'/);
});
