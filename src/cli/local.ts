// The commands that work on a store or a server (target.ts): add, peek, dead, stats, pause,
// resume, topic. Each does one thing, prints (JSON with --json), and closes.
import { Option } from 'commander';
import type { Command } from 'commander';
import type { JobInfo } from '../index.ts';
import { payload } from './input.ts';
import { jobJson, print } from './output.ts';
import { storeOption, withSpool } from './target.ts';
import type { Where } from './target.ts';

const line = (job: JobInfo) =>
  JSON.stringify({ id: job.id, state: job.state, attempts: job.attempts, data: job.data, lastError: job.lastError });

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
        const id = await withSpool(o, (spool) => spool.queue(queue).add(payload(arg), options));
        print(o, { id }, () => id);
      },
    );

  storeOption(program.command('peek <queue>'))
    .description('the next jobs a lease would take, one JSON line each')
    .option('-n <count>', 'how many', Number, 10)
    .action(async (queue: string, o: Where & { n: number }) => {
      const jobs = await withSpool(o, (spool) => spool.queue(queue).peek(o.n));
      print(o, jobs.map(jobJson), () => jobs.map(line).join('\n'));
    });

  storeOption(program.command('dead <queue>'))
    .description('dead jobs, one JSON line each; --retry puts them back, --purge removes them')
    // Both at once did the retry alone and said nothing of the purge: bad usage, exit 2.
    .addOption(new Option('--retry', 'dead jobs back to waiting with fresh attempts').conflicts('purge'))
    .option('--purge', 'remove the dead jobs')
    .action(async (queue: string, o: Where & { retry?: boolean; purge?: boolean }) => {
      await withSpool(o, async (spool) => {
        const q = spool.queue(queue);
        if (o.retry === true) {
          const retried = await q.retryDead();
          return print(o, { retried }, () => `retried ${retried}`);
        }
        if (o.purge === true) {
          const removed = await q.removeDead();
          return print(o, { removed }, () => `removed ${removed}`);
        }
        const dead: JobInfo[] = [];
        for (let cursor: string | null = null, first = true; first || cursor !== null; first = false) {
          const page = await q.dead({ cursor, limit: 1000 });
          // Text goes out page by page; JSON is one document at the end.
          for (const job of page.jobs)
            if (o.json === true) dead.push(job);
            else console.log(line(job));
          cursor = page.cursor;
        }
        if (o.json === true) print(o, dead.map(jobJson), () => '');
      });
    });

  const topic = program.command('topic').description('topics and their subscribers');
  storeOption(topic.command('list')).action(async (o: Where) => {
    print(o, await withSpool(o, (spool) => spool.topics()), (names) => names.join('\n'));
  });
  storeOption(topic.command('create <name> [subscribers...]'), false)
    .description('a topic with these subscribers (default options)')
    .action(async (name: string, subscribers: string[], o: Where) => {
      await withSpool(o, (spool) => spool.topic(name).create(Object.fromEntries(subscribers.map((s) => [s, {}]))));
    });
  storeOption(topic.command('subscribe <name> <subscriber>'), false)
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
  storeOption(topic.command('unsubscribe <name> <subscriber>'), false)
    .description('remove a subscriber and its messages')
    .action(async (name: string, subscriber: string, o: Where) => {
      await withSpool(o, (spool) => spool.topic(name).removeSubscriber(subscriber));
    });
  storeOption(topic.command('delete <name>'), false).action(async (name: string, o: Where) => {
    await withSpool(o, (spool) => spool.topic(name).delete());
  });
  storeOption(topic.command('publish <name> <payload>'))
    .description('publish to every subscriber: payload is JSON, @file or -; prints the id per subscriber')
    .action(async (name: string, arg: string, o: Where) => {
      print(o, await withSpool(o, (spool) => spool.topic(name).publish(payload(arg))), (ids) => JSON.stringify(ids));
    });
  storeOption(topic.command('status <name>'))
    .description('waiting, in flight and dead per subscriber')
    .action(async (name: string, o: Where) => {
      print(o, await withSpool(o, (spool) => spool.topic(name).status()), (status) =>
        status.map((s) => `${s.name}\twaiting ${s.waiting}\tin flight ${s.inFlight}\tdead ${s.dead}`).join('\n'),
      );
    });
}
