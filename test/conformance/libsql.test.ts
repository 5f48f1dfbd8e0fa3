import { runConformance } from '../../src/conformance/index.ts';
import { testStores } from '../support/test-store.ts';

runConformance({
  name: 'libsql',
  makeStore: testStores.libsql.open,
  openPeer: testStores.libsql.peer,
  transaction: testStores.libsql.transaction,
});
