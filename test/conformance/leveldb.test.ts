import { runConformance } from '../../src/conformance/index.ts';
import { testStores } from '../support/test-store.ts';

runConformance({ name: 'leveldb', makeStore: testStores.leveldb.open, reopen: testStores.leveldb.reopen });
