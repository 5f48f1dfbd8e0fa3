import { runConformance } from '../../src/conformance/index.ts';
import { testStores } from '../support/test-store.ts';

runConformance({ name: 'memory', makeStore: testStores.memory.open });
