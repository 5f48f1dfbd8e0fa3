// Runs every code block of README.md that a reader would run, so the README stays true: each
// ```js and ```ts block on the sources (test/package.test.ts runs them on the packed package),
// and each curl command of a ```sh block against a server, in order, with the placeholders a
// reader fills in by hand (`<id>`, `<token from the lease>`) taken from the answers before.
// The first ```sh block's npm commands are what .ci/run runs.
import { execFile, spawnSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { start } from './server/harness.ts';

const readme = readFileSync('README.md', 'utf8');
const blocks = (lang: string) =>
  [...readme.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1] as string);
const code = [...blocks('js').map((b) => ['js', b] as const), ...blocks('ts').map((b) => ['ts', b] as const)];
const entry = pathToFileURL(resolve('src/index.ts')).href;

void test('README has a JavaScript tour, a TypeScript block and HTTP examples', () => {
  assert.ok(blocks('js').length >= 2 && blocks('ts').length >= 1 && curls().length >= 5);
});

code.forEach(([lang, block], i) => {
  void test(`README ${lang} block ${i + 1} runs`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'spool-readme-'));
    try {
      const file = join(dir, `block.m${lang}`);
      writeFileSync(file, block.replaceAll(`from 'spool'`, `from '${entry}'`));
      const run = spawnSync(process.execPath, ['--import', 'tsx', file], { encoding: 'utf8', timeout: 60_000 });
      assert.equal(run.status, 0, run.stderr);
      assert.match(run.stdout, /sent: 'ada@example.com'|\{ order: 42 \}/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** Each curl command of the ```sh blocks, continuation lines joined, with the answer its comment shows. */
function curls(): { command: string; shown: string | undefined }[] {
  return blocks('sh')
    .flatMap((block) => block.replaceAll('\\\n', ' ').split('\n'))
    .filter((line) => line.startsWith('curl '))
    .map((line) => {
      const comment = /\s+#\s+(.*)$/.exec(line);
      return { command: comment === null ? line : line.slice(0, comment.index), shown: comment?.[1] };
    });
}

void test('README curl examples answer 2xx, as their comments show, in order', async () => {
  const server = await start();
  try {
    const host = server.base.replace('http://', '');
    const filled = new Map<string, string>();
    for (const { command, shown } of curls()) {
      let line = command.replaceAll('localhost:8080', host).replace(/^curl -s /, 'curl -sS --fail-with-body ');
      for (const [placeholder, value] of filled) line = line.replaceAll(placeholder, value);
      assert.doesNotMatch(line, /<[a-z ]+>/, `a placeholder no answer before filled: ${line}`);
      // Not spawnSync: the server answering runs in this process.
      const run = await new Promise<{ status: number; stdout: string; stderr: string }>((done) =>
        execFile('bash', ['-c', line], { timeout: 60_000 }, (error, stdout, stderr) =>
          done({ status: error === null ? 0 : Number(error.code ?? 1), stdout, stderr }),
        ),
      );
      assert.equal(run.status, 0, `${line}\n${run.stdout}${run.stderr}`);
      const answer = JSON.parse(run.stdout) as { id?: string; jobs?: { token: string }[] };
      if (answer.id !== undefined && !filled.has('<id>')) filled.set('<id>', answer.id);
      const token = answer.jobs?.[0]?.token;
      if (token !== undefined) filled.set('<token from the lease>', token);
      // A comment that is JSON is the exact answer; one with "…" or "..." shows its shape only.
      if (shown !== undefined && !/…|\.\.\./.test(shown)) assert.deepEqual(answer, JSON.parse(shown), line);
    }
  } finally {
    await server.close();
  }
});
