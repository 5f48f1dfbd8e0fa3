// Runs every TypeScript block of docs/*.md, so the docs cannot go stale (issue 13: coming-from.md
// still called memory: the only store). Each block runs as its own program in a fresh directory,
// with `spool` and its subpaths pointing at this checkout; a line `// → text` in a block is
// something the block must print. A block that is not meant to run is not a `ts` block.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { redisProblem, redisUrl, skipUnless } from './fixtures/redis.ts';

const subpaths: Record<string, string> = {
  spool: 'src/index.ts',
  'spool/client': 'src/client/index.ts',
  'spool/server': 'src/server/index.ts',
  'spool/memory': 'src/store/memory/index.ts',
  'spool/file': 'src/store/file/index.ts',
};

/** The block with its imports of `spool…` pointing at this checkout's sources, and its Redis at the tests' one. */
function runnable(block: string): string {
  return block
    .replaceAll('redis://127.0.0.1:6379', redisUrl)
    .replace(/from '(spool(?:\/[a-z]+)?)'/g, (whole, name: string) => {
      const path = subpaths[name];
      return path === undefined ? whole : `from '${pathToFileURL(resolve(path)).href}'`;
    });
}

function run(file: string, cwd: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), file], { cwd, timeout: 60_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('close', (status) => done({ status, stdout, stderr }));
  });
}

const docs = readdirSync('docs')
  .filter((name) => name.endsWith('.md'))
  .sort();

const blocks = docs.flatMap((doc) =>
  [...readFileSync(join('docs', doc), 'utf8').matchAll(/```ts\n([\s\S]*?)```/g)].map((m, i) => ({
    doc,
    n: i + 1,
    code: m[1] as string,
  })),
);

void test('the docs have TypeScript blocks to run', () => {
  assert.ok(blocks.length >= 5, `found ${blocks.length}`);
});

const needsRedis = blocks.some((b) => b.code.includes('redis://'));
const noRedis = needsRedis
  ? skipUnless(
      await redisProblem(),
      `Redis at ${redisUrl}`,
      'start redis-server on 127.0.0.1:6379 or set SPOOL_REDIS_URL',
    )
  : false;

for (const { doc, n, code } of blocks) {
  const skip = code.includes('redis://') ? noRedis : false;
  void test(`docs/${doc} block ${n} runs and prints what it says`, { skip }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spool-docs-'));
    try {
      const file = join(dir, 'block.mts');
      writeFileSync(file, runnable(code));
      const { status, stdout, stderr } = await run(file, dir);
      assert.equal(status, 0, stderr);
      const expected = [...code.matchAll(/\/\/ → (.+)$/gm)].map((m) => (m[1] as string).trim());
      assert.ok(expected.length > 0, 'a block says what it prints in a `// → text` line');
      for (const text of expected) assert.ok(stdout.includes(text), `expected "${text}" in:\n${stdout}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
