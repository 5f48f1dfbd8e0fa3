import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe } from 'node:test';
import { LevelStore } from '../src/store/leveldb/index.ts';
import { runConformance } from './conformance/index.ts';

const root = mkdtempSync(join(tmpdir(), 'spool-leveldb-'));
let n = 0;
const freshDir = (): string => join(root, String(++n));
after(() => rmSync(root, { recursive: true, force: true }));

void describe('leveldb store: conformance', () => {
  runConformance({ makeStore: () => LevelStore.open(freshDir(), { durability: 'none' }) });
});
