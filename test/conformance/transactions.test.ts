// The transactions cases on a memory store with a thin transaction layer: they run here until a
// store with real transactions (PostgreSQL, SQLite) runs them in its own conformance file.
import { runConformance } from '../../src/conformance/index.ts';
import { txMemoryStore, txMemoryTransaction } from '../fixtures/tx-memory-store.ts';

const elsewhere = 'the memory store runs it: test/conformance/memory.test.ts';
runConformance({
  name: 'memory with a transaction layer',
  makeStore: txMemoryStore,
  transaction: txMemoryTransaction,
  skips: Object.fromEntries(
    ['basics', 'ordering', 'time', 'blocking', 'worker', 'topics', 'tokens', 'processes', 'replication'].map((a) => [
      a,
      elsewhere,
    ]),
  ),
});
