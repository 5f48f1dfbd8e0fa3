#!/usr/bin/env node
// `npm run build:ui`: the dashboard (ui/src, Preact and uPlot) bundled by esbuild into ui/build,
// which the package ships and `spool serve` reads at start-up (src/server/http/ui.ts): nothing is
// built at run time. File names carry a content hash, so a browser may cache them for good;
// index.html, which names them, is written last.
import { build } from 'esbuild';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';

const out = 'ui/build';
rmSync(out, { recursive: true, force: true });
const result = await build({
  entryPoints: ['ui/src/main.tsx'],
  bundle: true,
  format: 'esm',
  target: ['es2022'],
  minify: true,
  outdir: out,
  entryNames: 'app-[hash]',
  jsx: 'automatic',
  jsxImportSource: 'preact',
  metafile: true,
  legalComments: 'linked',
  logLevel: 'warning',
});
const files = Object.keys(result.metafile.outputs).map((file) => basename(file));
const script = files.find((f) => f.endsWith('.js'));
const style = files.find((f) => f.endsWith('.css'));
const html = readFileSync('ui/index.html', 'utf8').replace('%SCRIPT%', `./${script}`).replace('%STYLE%', `./${style}`);
writeFileSync(`${out}/index.html`, html);
