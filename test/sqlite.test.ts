import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe } from 'node:test';
import { SqliteStore } from '../src/store/sqlite/index.ts';
import { runConformance } from './conformance/index.ts';

const root = mkdtempSync(join(tmpdir(), 'spool-sqlite-'));
let n = 0;
const freshFile = (): string => join(root, `${++n}.db`);
after(() => rmSync(root, { recursive: true, force: true }));

void describe('sqlite store: conformance', () => {
  runConformance({ makeStore: () => Promise.resolve(SqliteStore.open(freshFile(), { synchronous: 'normal' })) });
});
