import { after, describe } from 'node:test';
import { RedisStore } from '../src/store/redis/index.ts';
import { runConformance } from './conformance/index.ts';
import { dropPrefix, redisProblem, redisUrl, skipUnless, withPrefix } from './fixtures/redis.ts';

const skip = skipUnless(
  await redisProblem(),
  `Redis at ${redisUrl}`,
  'start redis-server on 127.0.0.1:6379 or set SPOOL_REDIS_URL',
);
const stem = `spool-test-${process.pid}-`;
let n = 0;
after(() => (skip === false ? dropPrefix(redisUrl, stem) : undefined));

void describe('redis store: conformance', { skip }, () => {
  runConformance({ makeStore: () => RedisStore.open(withPrefix(redisUrl, `${stem}${++n}`)) });
});
