#!/usr/bin/env node
// `npm run build` (and `npm pack` / `npm publish` through prepack): dist/ from a clean slate, so
// no file of an older build (a source map, a deleted module) ends up in the package.
import { spawnSync } from 'node:child_process';
import { cpSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';

rmSync('dist', { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const built = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
if (built.status !== 0) process.exit(built.status ?? 1);
// tsc copies no .lua: the Redis store reads its scripts next to its compiled modules.
cpSync('src/store/redis/lua', 'dist/store/redis/lua', { recursive: true });
// Nor .sql: the SQLite store reads its migrations next to its compiled modules.
cpSync('src/store/sqlite/migrations', 'dist/store/sqlite/migrations', { recursive: true });
// The PostgreSQL store's statements and migrations, likewise.
cpSync('src/store/postgres/sql', 'dist/store/postgres/sql', { recursive: true });
