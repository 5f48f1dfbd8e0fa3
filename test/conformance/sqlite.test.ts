import { runConformance } from '../../src/conformance/index.ts';
import { testStores } from '../support/test-store.ts';

runConformance({
  name: 'sqlite',
  makeStore: testStores.sqlite.open,
  openPeer: testStores.sqlite.peer,
  reopen: testStores.sqlite.reopen,
  transaction: testStores.sqlite.transaction,
});
