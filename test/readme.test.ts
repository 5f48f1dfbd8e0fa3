// Runs every TypeScript block of README.md, so the tour stays true.
import { spawnSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';

const readme = readFileSync('README.md', 'utf8');
const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] as string);
const entry = pathToFileURL(resolve('src/index.ts')).href;

void test('README has a TypeScript tour', () => {
  assert.ok(blocks.length > 0);
});

blocks.forEach((block, i) => {
  void test(`README block ${i + 1} runs`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'spool-readme-'));
    try {
      const file = join(dir, 'block.mts');
      writeFileSync(file, block.replaceAll(`from 'spool'`, `from '${entry}'`));
      const run = spawnSync(process.execPath, ['--import', 'tsx', file], { encoding: 'utf8', timeout: 60_000 });
      assert.equal(run.status, 0, run.stderr);
      assert.match(run.stdout, /sent: 'ada@example.com'/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
