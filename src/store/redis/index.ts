// `spool/redis`: the Redis store. Needs the optional peer dependency ioredis.
export { RedisStore } from './redis-store.ts';
