import { describe } from 'node:test';
import { RedisStore } from '../src/store/redis/index.ts';
import { runConformance } from './conformance/index.ts';
import { dropPrefix, redisProblem, redisUrl, skipUnless, withPrefix } from './fixtures/redis.ts';

const skip = skipUnless(
  await redisProblem(),
  `Redis at ${redisUrl}`,
  'start redis-server on 127.0.0.1:6379 or set SPOOL_REDIS_URL',
);
let n = 0;

/** A store on keys of its own, deleted when the test closes it: runs never meet on the shared server. */
async function makeStore(): Promise<RedisStore> {
  const prefix = `spool-test-${process.pid}-${++n}`;
  const store = await RedisStore.open(withPrefix(redisUrl, prefix));
  const close = store.close.bind(store);
  store.close = async () => {
    await close();
    await dropPrefix(redisUrl, `${prefix}:`);
  };
  return store;
}

void describe('redis store: conformance', { skip }, () => {
  runConformance({ makeStore });
});
