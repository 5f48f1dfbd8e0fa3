import { describe } from 'node:test';
import { runConformance } from '../../src/conformance/index.ts';
import { postgresUrl } from '../fixtures/postgres.ts';
import { skipUnless } from '../fixtures/redis.ts';
import { testStores } from '../support/test-store.ts';

const { postgres } = testStores;
const skip = skipUnless(
  await postgres.problem(),
  `PostgreSQL at ${postgresUrl}`,
  'start PostgreSQL or set SPOOL_POSTGRES_URL',
);

// Each case on a store in a schema of its own, migrated at open.
void describe('postgres', { skip }, () => {
  runConformance({
    name: 'postgres',
    makeStore: postgres.open,
    openPeer: postgres.peer,
    reopen: postgres.reopen,
    transaction: postgres.transaction,
  });
});
