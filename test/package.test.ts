// The package as a newcomer gets it: `npm pack`, installed from the tarball into an empty
// project, then the README's tour run from the installed package as TypeScript and as plain
// JavaScript, `require('spool')` from CommonJS, and `spool serve` from its bin.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { request, serve, stop } from './server/harness.ts';

const root = mkdtempSync(join(tmpdir(), 'spool-package-'));
const project = join(root, 'project');
after(() => rmSync(root, { recursive: true, force: true }));

const npm = (args: string[], cwd: string) =>
  spawnSync('npm', args, {
    cwd,
    encoding: 'utf8',
    timeout: 180_000,
    env: { ...process.env, npm_config_loglevel: 'warn' },
  });

interface Packed {
  filename: string;
  files: { path: string }[];
}
let packed: Packed;
let installLog = '';

before(() => {
  // Packed from a copy: prepack's build writes dist/, which other test files build in the checkout.
  const copy = join(root, 'spool');
  for (const entry of [
    'package.json',
    'package-lock.json',
    'README.md',
    'LICENSE',
    'tsconfig.json',
    'tsconfig.build.json',
    'scripts',
    'src',
    'ui',
  ])
    cpSync(entry, join(copy, entry), { recursive: true });
  symlinkSync(resolve('node_modules'), join(copy, 'node_modules'));
  const pack = npm(['pack', '--json', '--pack-destination', root], copy);
  assert.equal(pack.status, 0, pack.stderr);
  [packed] = JSON.parse(pack.stdout.slice(pack.stdout.indexOf('['))) as [Packed];

  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'newcomer', private: true, type: 'module' }));
  const install = npm(['install', '--prefer-offline', '--no-audit', '--no-fund', join(root, packed.filename)], project);
  installLog = install.stdout + install.stderr;
  assert.equal(install.status, 0, installLog);
});

void test('the tarball holds dist/ and the built dashboard without source maps, no install scripts, and links back to the repository', () => {
  const paths = packed.files.map((f) => f.path);
  assert.ok(paths.includes('dist/index.js') && paths.includes('dist/index.d.ts') && paths.includes('README.md'));
  assert.ok(paths.includes('ui/build/index.html'));
  // Files tsc does not copy, read beside the compiled modules: Redis's scripts, SQLite's schema.
  assert.ok(paths.includes('dist/store/redis/lua/add.lua'));
  assert.ok(paths.includes('dist/store/sqlite/migrations/001-jobs.sql'));
  assert.deepEqual(
    paths.filter(
      (p) =>
        !p.startsWith('dist/') && !p.startsWith('ui/build/') && !['package.json', 'README.md', 'LICENSE'].includes(p),
    ),
    [],
  );
  assert.deepEqual(
    paths.filter((p) => p.endsWith('.map')),
    [],
  );
  const manifest = JSON.parse(readFileSync(join(project, 'node_modules/spool/package.json'), 'utf8')) as {
    scripts: Record<string, string>;
    repository?: unknown;
    homepage?: string;
    bugs?: unknown;
    keywords?: string[];
  };
  for (const script of ['preinstall', 'install', 'postinstall', 'prepare'])
    assert.equal(manifest.scripts[script], undefined, `${script} runs on the user's install`);
  assert.ok(manifest.repository !== undefined && manifest.bugs !== undefined && manifest.homepage !== undefined);
  assert.ok((manifest.keywords ?? []).length > 0);
});

void test(`installing the tarball on Node ${process.versions.node} warns of no unsupported engine`, () => {
  assert.doesNotMatch(installLog, /EBADENGINE|Unsupported engine/);
});

// The README's ```js blocks are the tour, plain JavaScript that is also TypeScript; its ```ts
// blocks are TypeScript only.
const readme = readFileSync('README.md', 'utf8');
const blocks = (lang: string) =>
  [...readme.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1] as string);
const tsx = ['--import', import.meta.resolve('tsx')];
const runs = [
  ...blocks('js').flatMap((block, i) => [
    { name: `js block ${i + 1}`, block, extension: 'mjs', loader: [] as string[] },
    { name: `js block ${i + 1}`, block, extension: 'mts', loader: tsx },
  ]),
  ...blocks('ts').map((block, i) => ({ name: `ts block ${i + 1}`, block, extension: 'mts', loader: tsx })),
];

void test('the README has a JavaScript tour and TypeScript', () => assert.ok(runs.length >= 5));

runs.forEach(({ name, block, extension, loader }, i) => {
  void test(`README ${name} runs as .${extension} from the installed package`, () => {
    const file = join(project, `readme-${i + 1}.${extension}`);
    writeFileSync(file, block);
    const run = spawnSync(process.execPath, [...loader, file], { cwd: project, encoding: 'utf8', timeout: 60_000 });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stderr, '');
  });
});

void test("require('spool') from CommonJS loads the ES module (require(esm), Node >= 20.19)", () => {
  const file = join(project, 'require.cjs');
  writeFileSync(
    file,
    `const { open } = require('spool');
open('memory:').then(async (spool) => {
  await spool.queue('mail').add({ to: 'ada@example.com' });
  console.log(JSON.stringify(await spool.queue('mail').counts()));
  await spool.close();
});`,
  );
  const run = spawnSync(process.execPath, [file], { cwd: project, encoding: 'utf8', timeout: 60_000 });
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /"waiting":1/);
});

void test("a store author's conformance run from the installed spool/conformance passes on the memory store", () => {
  const file = join(project, 'conformance.test.mjs');
  writeFileSync(
    file,
    `import { runConformance } from 'spool/conformance';
import { MemoryStore } from 'spool/memory';
runConformance({ name: 'memory', makeStore: () => new MemoryStore() });`,
  );
  // Its own test run, not a file of this one's.
  const { NODE_TEST_CONTEXT: _, ...env } = process.env;
  const run = spawnSync(process.execPath, ['--test', '--test-reporter=tap', file], {
    cwd: project,
    encoding: 'utf8',
    timeout: 120_000,
    env,
  });
  assert.equal(run.status, 0, run.stdout + run.stderr);
  assert.match(run.stdout, /^# fail 0$/m);
  assert.ok(Number(/^# pass (\d+)$/m.exec(run.stdout)?.[1]) >= 60, run.stdout.slice(-400));
});

void test('the installed bin serves the API, its docs and the dashboard', async () => {
  const served = await serve('memory:', join(project, 'node_modules/.bin/spool'));
  try {
    assert.deepEqual((await request(served.base, 'GET', '/healthz')).body, { ok: true });
    assert.equal((await request(served.base, 'GET', '/docs/')).status, 200);
    const ui = await request(served.base, 'GET', '/ui/');
    assert.equal(ui.status, 200);
    assert.match(ui.text, /<script type="module" src="\.\/app-\w+\.js">/);
    assert.equal((await request(served.base, 'POST', '/v1/queues/mail/jobs', { data: 1 })).status, 201);
  } finally {
    await stop(served);
  }
});
