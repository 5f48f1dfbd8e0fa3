import { runConformance } from '../../src/conformance/index.ts';
import { testStores } from '../support/test-store.ts';

runConformance({
  name: 'libsql',
  makeStore: testStores.libsql.open,
  openPeer: testStores.libsql.peer,
  reopen: testStores.libsql.reopen,
  transaction: testStores.libsql.transaction,
});
