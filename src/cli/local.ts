// The commands that work on a store or a server: add, peek, dead, stats, topic. Each opens
// the store (by default the data directory ./spool-data), or talks to `--server` over HTTP,
// does one thing, prints, and closes.
import type { Command } from 'commander';
import { connect } from '../client/index.ts';
import type { SpoolClient } from '../client/index.ts';
import { open } from '../index.ts';
import type { Counts, JobInfo, Spool } from '../index.ts';
import { payload } from './input.ts';

/** What these commands need, which a local Spool and a remote SpoolClient both have. */
type Target = Pick<Spool, 'topics'> & {
  queues: () => Promise<readonly { readonly name: string; readonly counts: Counts }[]>;
  queue: (
    name: string,
  ) => Pick<ReturnType<Spool['queue']>, 'add' | 'peek' | 'counts' | 'dead' | 'retryDead' | 'remove'>;
  topic: (
    name: string,
  ) => Pick<
    ReturnType<Spool['topic']>,
    'create' | 'addSubscribers' | 'removeSubscriber' | 'delete' | 'publish' | 'status' | 'info'
  >;
};

interface Where {
  store: string;
  server?: string;
  token?: string;
}

const storeOption = (command: Command): Command =>
  command
    .option('--store <url>', 'store URL (env SPOOL_STORE)', process.env.SPOOL_STORE ?? 'file:./spool-data')
    .option('--server <url>', 'a spool server instead of a store (env SPOOL_SERVER)', process.env.SPOOL_SERVER)
    .option('--token <token>', 'bearer token for --server (env SPOOL_TOKEN)', process.env.SPOOL_TOKEN);

async function withSpool<T>(where: Where, run: (target: Target) => Promise<T>): Promise<T> {
  if (where.server !== undefined) {
    const client: SpoolClient = connect(where.server, where.token === undefined ? {} : { token: where.token });
    return run(client);
  }
  await using spool = await open(where.store);
  // Awaited here, inside the `using` scope: returning the bare promise would close the store under it.
  return await run(spool);
}

const line = (job: JobInfo) =>
  JSON.stringify({ id: job.id, state: job.state, attempts: job.attempts, data: job.data, lastError: job.lastError });

function table(rows: readonly (readonly [string, Counts])[]): string {
  const header = ['queue', 'waiting', 'delayed', 'active', 'dead', 'completed', 'paused'];
  const cells = rows.map(([name, c]) => [
    name,
    ...[c.waiting, c.delayed, c.active, c.dead, c.completed].map(String),
    c.paused ? 'yes' : '',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] as string).length)));
  return [header, ...cells]
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i] as number))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

async function stats(spool: Target, names: readonly string[]): Promise<string> {
  // With no names: every queue the store knows, from its list of queues.
  if (names.length === 0) return table((await spool.queues()).map(({ name, counts }) => [name, counts] as const));
  const rows = await Promise.all(names.map(async (q) => [q, await spool.queue(q).counts()] as const));
  return table(rows);
}

export function localCommands(program: Command): void {
  storeOption(program.command('add <queue> <payload>'))
    .description('add a job: payload is JSON, @file or - (stdin); prints its id')
    .option('--delay <duration>', "wait before it may run, e.g. '5m'")
    .option('--priority <n>', 'higher runs first', Number)
    .option('--key <key>', 'idempotency key')
    .option('--backoff <duration>', "fixed wait after a failed attempt, e.g. '10s'")
    .action(
      async (
        queue: string,
        arg: string,
        o: Where & { delay?: string; priority?: number; key?: string; backoff?: string },
      ) => {
        const options = Object.fromEntries(
          Object.entries({ delay: o.delay, priority: o.priority, key: o.key, backoff: o.backoff }).filter(
            ([, v]) => v !== undefined,
          ),
        );
        console.log(await withSpool(o, (spool) => spool.queue(queue).add(payload(arg), options)));
      },
    );

  storeOption(program.command('peek <queue>'))
    .description('the next jobs a lease would take, one JSON line each')
    .option('-n <count>', 'how many', Number, 10)
    .action(async (queue: string, o: Where & { n: number }) => {
      const jobs = await withSpool(o, (spool) => spool.queue(queue).peek(o.n));
      for (const job of jobs) console.log(line(job));
    });

  storeOption(program.command('dead <queue>'))
    .description('dead jobs, one JSON line each; --retry puts them back, --purge removes them')
    .option('--retry', 'dead jobs back to waiting with fresh attempts')
    .option('--purge', 'remove the dead jobs')
    .action(async (queue: string, o: Where & { retry?: boolean; purge?: boolean }) => {
      await withSpool(o, async (spool) => {
        const q = spool.queue(queue);
        if (o.retry === true) return console.log(`retried ${await q.retryDead()}`);
        let removed = 0;
        for (let cursor: string | null = null, first = true; first || cursor !== null; first = false) {
          const page = await q.dead({ cursor, limit: 1000 });
          for (const job of page.jobs) {
            if (o.purge === true) removed += (await q.remove(job.id)) ? 1 : 0;
            else console.log(line(job));
          }
          cursor = o.purge === true ? null : page.cursor;
        }
        if (o.purge === true) console.log(`removed ${removed}`);
      });
    });

  storeOption(program.command('stats [queues...]'))
    .description('counts per queue (default: every topic subscriber queue)')
    .option('--watch <seconds>', 'refresh every so many seconds', Number)
    .action(async (queues: string[], o: Where & { watch?: number }) => {
      await withSpool(o, async (spool) => {
        console.log(await stats(spool, queues));
        if (o.watch === undefined) return;
        const stop = new AbortController();
        process.once('SIGINT', () => stop.abort());
        while (!stop.signal.aborted) {
          await new Promise((resolve) => setTimeout(resolve, o.watch! * 1000));
          if (!stop.signal.aborted) console.log(`\x1b[2J\x1b[H${await stats(spool, queues)}`);
        }
      });
    });

  const topic = program.command('topic').description('topics and their subscribers');
  storeOption(topic.command('list')).action(async (o: Where) => {
    for (const name of await withSpool(o, (spool) => spool.topics())) console.log(name);
  });
  storeOption(topic.command('create <name> [subscribers...]'))
    .description('a topic with these subscribers (default options)')
    .action(async (name: string, subscribers: string[], o: Where) => {
      await withSpool(o, (spool) => spool.topic(name).create(Object.fromEntries(subscribers.map((s) => [s, {}]))));
    });
  storeOption(topic.command('subscribe <name> <subscriber>'))
    .description('add a subscriber, or change its options')
    .option('--max-attempts <n>', 'deliveries before it goes dead', Number)
    .option('--visibility <duration>', "how long a read message stays in flight, e.g. '5m'")
    .option('--backoff <duration>', "fixed wait after a failed delivery, e.g. '10s'")
    .action(
      async (
        name: string,
        subscriber: string,
        o: Where & { maxAttempts?: number; visibility?: string; backoff?: string },
      ) => {
        const options = Object.fromEntries(
          Object.entries({ maxAttempts: o.maxAttempts, visibility: o.visibility, backoff: o.backoff }).filter(
            ([, v]) => v !== undefined,
          ),
        );
        await withSpool(o, (spool) => spool.topic(name).addSubscribers({ [subscriber]: options }));
      },
    );
  storeOption(topic.command('unsubscribe <name> <subscriber>'))
    .description('remove a subscriber and its messages')
    .action(async (name: string, subscriber: string, o: Where) => {
      await withSpool(o, (spool) => spool.topic(name).removeSubscriber(subscriber));
    });
  storeOption(topic.command('delete <name>')).action(async (name: string, o: Where) => {
    await withSpool(o, (spool) => spool.topic(name).delete());
  });
  storeOption(topic.command('publish <name> <payload>'))
    .description('publish to every subscriber: payload is JSON, @file or -; prints the id per subscriber')
    .action(async (name: string, arg: string, o: Where) => {
      console.log(JSON.stringify(await withSpool(o, (spool) => spool.topic(name).publish(payload(arg)))));
    });
  storeOption(topic.command('status <name>'))
    .description('waiting, in flight and dead per subscriber')
    .action(async (name: string, o: Where) => {
      for (const s of await withSpool(o, (spool) => spool.topic(name).status()))
        console.log(`${s.name}\twaiting ${s.waiting}\tin flight ${s.inFlight}\tdead ${s.dead}`);
    });
}
