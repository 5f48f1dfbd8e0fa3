import { describe } from 'node:test';
import { runConformance } from '../../src/conformance/index.ts';
import { redisUrl, skipUnless } from '../fixtures/redis.ts';
import { testStores } from '../support/test-store.ts';

const { redis } = testStores;
const skip = skipUnless(await redis.problem(), `Redis at ${redisUrl}`, 'start redis-server or set SPOOL_REDIS_URL');

void describe('redis', { skip }, () => {
  runConformance({ name: 'redis', makeStore: redis.open, openPeer: redis.peer, reopen: redis.reopen });
});
