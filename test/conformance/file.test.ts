import { runConformance } from '../../src/conformance/index.ts';
import { testStores } from '../support/test-store.ts';

runConformance({ name: 'file', makeStore: testStores.file.open, reopen: testStores.file.reopen });
