// The dashboard's answers at scale (issue 18), on a store holding `jobs` waiting jobs:
//   node --import tsx bench/dashboard.ts [store=file:<tmp dir>] [jobs=1000000]
// Times, through a real HTTP server in this process, the overview, a queue's counts, its first
// page, a deep page, one payload search request and a whole search to the last job; and how long
// the store was blocked at most meanwhile: the event loop's longest stall (the file store runs in
// this process) and, on Redis, the longest command in its SLOWLOG.
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { open } from '../src/index.ts';
import { createServer } from '../src/server/index.ts';

const tmp = mkdtempSync(join(tmpdir(), 'spool-dash-bench-'));
const [storeUrl = `file:${join(tmp, 'data')}?durability=none`, jobsArg = '1000000'] = process.argv.slice(2);
const jobs = Number(jobsArg);
const queue = 'bench';

const spool = await open(storeUrl);
const q = spool.queue(queue);
const started = performance.now();
const batch = 5_000;
for (let added = 0; added < jobs; added += batch) {
  const n = Math.min(batch, jobs - added);
  await q.addBulk(
    Array.from({ length: n }, (_, i) => ({
      data: { user: `user-${added + i}`, plan: 'basic', note: added + i === jobs - 1 ? 'needle-31337' : 'hay' },
    })),
  );
}
const fillS = (performance.now() - started) / 1000;

const server = await createServer({ spool });
const base = await server.app.listen({ host: '127.0.0.1', port: 0 });
const redis = storeUrl.startsWith('redis') ? new Redis(storeUrl.split('?')[0] as string) : null;
/** The store's Lua scripts by SHA-1 of what it sends (lib.lua, then the script, as scripts.ts joins them). */
const lua = (name: string): string => readFileSync(`src/store/redis/lua/${name}`, 'utf8');
const scriptNames = new Map(
  readdirSync('src/store/redis/lua')
    .filter((file) => file !== 'lib.lua')
    .map((file) => {
      const body = lua(file);
      const shebang = body.startsWith('#!') ? body.slice(0, body.indexOf('\n') + 1) : '';
      const text = `${shebang}${lua('lib.lua')}\n${body.slice(shebang.length)}`;
      return [createHash('sha1').update(text).digest('hex'), file] as const;
    }),
);

async function get(path: string): Promise<{ ms: number; body: unknown }> {
  const t = performance.now();
  const response = await fetch(base + path);
  const body: unknown = await response.json();
  if (!response.ok) throw new Error(`${path}: ${response.status} ${JSON.stringify(body)}`);
  return { ms: performance.now() - t, body };
}

/** Median and worst of `runs` answers. */
async function timed(path: string, runs = 7): Promise<{ median: number; max: number }> {
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) ms.push((await get(path)).ms);
  ms.sort((a, b) => a - b);
  return { median: round(ms[Math.floor(ms.length / 2)] as number), max: round(ms.at(-1) as number) };
}

const round = (n: number): number => Math.round(n * 10) / 10;

/** Runs `work` and reports the longest event-loop stall and (on Redis) the longest command meanwhile. */
async function blocking<T>(work: () => Promise<T>): Promise<{
  value: T;
  loopMaxMs: number;
  redis99Ms: number | null;
  redisMaxMs: number | null;
  redisSlowest: string | null;
}> {
  const loop = monitorEventLoopDelay({ resolution: 1 });
  await redis?.config('SET', 'slowlog-log-slower-than', '0');
  await redis?.config('SET', 'slowlog-max-len', '100000');
  await redis?.slowlog('RESET');
  loop.enable();
  const value = await work();
  loop.disable();
  let redis99Ms: number | null = null;
  let redisMaxMs: number | null = null;
  let redisSlowest: string | null = null;
  if (redis !== null) {
    const entries = (await redis.slowlog('GET', 100_000)) as [number, number, number, string[]][];
    // The bench's own SLOWLOG and CONFIG calls are not the store's.
    const store = entries
      .filter((e) => !['slowlog', 'config'].includes(String(e[3][0]).toLowerCase()))
      .sort((a, b) => a[2] - b[2]);
    const slowest = store.at(-1);
    // On a loaded machine the worst is often Redis descheduled mid-command: the 99th percentile too.
    redis99Ms = round((store[Math.floor(store.length * 0.99)]?.[2] ?? 0) / 1000);
    redisMaxMs = round((slowest?.[2] ?? 0) / 1000);
    const args = slowest?.[3] ?? [];
    redisSlowest =
      args[0]?.toUpperCase() === 'EVALSHA' ? (scriptNames.get(args[1] ?? '') ?? 'EVALSHA') : (args[0] ?? null);
    await redis.config('SET', 'slowlog-log-slower-than', '10000');
  }
  return { value, loopMaxMs: round(loop.max / 1e6), redis99Ms, redisMaxMs, redisSlowest };
}

const overview = await blocking(() => timed('/v1/overview'));
const counts = await timed(`/v1/queues/${queue}/counts`);
const firstPage = await blocking(() => timed(`/v1/queues/${queue}/jobs?state=waiting&limit=50`));
const deep = Math.max(0, jobs - 100);
const deepPage = await blocking(() => timed(`/v1/queues/${queue}/jobs?state=waiting&limit=50&cursor=${deep}`));
const oneSearch = await blocking(() => timed(`/v1/queues/${queue}/jobs?state=waiting&limit=50&q=needle-31337`, 3));
const fullSearch = await blocking(async () => {
  const t = performance.now();
  let cursor: string | null = null;
  let requests = 0;
  let found = 0;
  do {
    const path = `/v1/queues/${queue}/jobs?state=waiting&limit=50&q=needle-31337${cursor === null ? '' : `&cursor=${cursor}`}`;
    const page = (await get(path)).body as { jobs: unknown[]; cursor: string | null };
    requests++;
    found += page.jobs.length;
    cursor = found > 0 ? null : page.cursor;
  } while (cursor !== null);
  return { requests, found, seconds: round((performance.now() - t) / 1000) };
});

console.log(
  JSON.stringify(
    {
      store: storeUrl.split('?')[0]?.replace(tmp, '<tmp>'),
      jobs,
      fillS: round(fillS),
      overviewMs: overview.value,
      countsMs: counts,
      firstPageMs: firstPage.value,
      deepPageMs: deepPage.value,
      searchRequestMs: oneSearch.value,
      searchToLastJob: fullSearch.value,
      longestEventLoopStallMs: Object.fromEntries(
        Object.entries({ overview, firstPage, deepPage, oneSearch, fullSearch }).map(([k, b]) => [k, b.loopMaxMs]),
      ),
      longestRedisCommandMs: Object.fromEntries(
        Object.entries({ overview, firstPage, deepPage, oneSearch, fullSearch }).map(([k, b]) => [
          k,
          b.redisMaxMs === null ? null : `p99 ${b.redis99Ms}, max ${b.redisMaxMs} (${b.redisSlowest})`,
        ]),
      ),
    },
    null,
    2,
  ),
);

// A purge of a million jobs is one long script on Redis: the keys go a thousand at a time instead.
if (redis === null) await q.purge();
else {
  const prefix = new URL(storeUrl).searchParams.get('prefix') ?? 'spool';
  for (const pattern of [`{${prefix}*`, `${prefix}*`]) {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.unlink(...keys);
    } while (cursor !== '0');
  }
}
await server.close();
await spool.close();
redis?.disconnect();
rmSync(tmp, { recursive: true, force: true });
