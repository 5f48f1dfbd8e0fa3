// Runs every example in examples/ as its own process and checks what it printed.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';

const expectations: Record<string, RegExp[]> = {
  'diskoque.ts': [/Received message: Hello, World!/],
  'dque.ts': [
    /Peeked \{ name: 'Joe', id: 1 \}/,
    /Dequeued \{ name: 'Joe', id: 1 \}/,
    /Dequeued \{ name: 'Ann', id: 2 \}/,
  ],
  'kafkaq.ts': [/executing task 9/, /per task/],
  'blockqueue.ts': [
    /counter read \d+: hi message from topic cart/,
    /counter: unpublished 0, unacked 0\ncreated: unpublished 1, unacked 0/,
    /created read \d+: hi message from topic cart\ncreated read \d+: hi over HTTP/,
    /"name":"created","unpublished_message":0,"unacked_message":0/,
  ],
  'disque.ts': [
    /processing data3 from urgent[\s\S]*processing data1 from high[\s\S]*processing data2 from low/,
    /job3 is done/,
    /processed 3 jobs; the delayed one waits: .*"delayed":1/,
  ],
  // Needs the PostgreSQL server (SPOOL_POSTGRES_URL, default the local `test` database).
  'outbox.ts': [
    /order 1 placed/,
    /rolled back: payment for order 2 declined/,
    /e-mailing order 1[\s\S]*e-mailing order 3/,
    /"waiting":0,"delayed":0,"active":0,"dead":0,"completed":2/,
  ],
};

for (const [file, patterns] of Object.entries(expectations)) {
  void test(`example ${file} runs and prints what its seed's example did`, () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', `examples/${file}`], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(run.status, 0, run.stderr);
    for (const pattern of patterns) assert.match(run.stdout, pattern);
  });
}
