// One job by id (`spool job get|remove|retry|promote`), and leases for scripts: `spool lease`
// prints each job with its token, `spool ack <token…>` finishes them.
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { NotFoundError } from '../index.ts';
import type { JobInfo } from '../index.ts';
import { jobJson, print } from './output.ts';
import { storeOption, withSpool } from './target.ts';
import type { Where } from './target.ts';

const when = (ms: number | null) => (ms === null ? '' : new Date(ms).toISOString());

/** A job as `key  value` lines; the payload and result as JSON. */
function jobText(job: JobInfo): string {
  const rows: [string, string][] = [
    ['id', job.id],
    ['queue', job.queue],
    ['state', job.state],
    ['priority', String(job.priority)],
    ['attempts', `${job.attempts} of ${Number.isFinite(job.maxAttempts) ? job.maxAttempts : 'unlimited'}`],
    ['nacks', String(job.nacks)],
    ['created', when(job.createdAt)],
    ['runs at', when(job.runAt)],
    ['expires', when(job.expiresAt)],
    ['lease until', when(job.leaseUntil)],
    ['finished', when(job.finishedAt)],
    ['data', JSON.stringify(job.data)],
    ['result', job.result === undefined ? '' : JSON.stringify(job.result)],
    ...job.errors.map((error, i): [string, string] => [`error ${i + 1}`, error]),
  ];
  return rows
    .filter(([, value]) => value !== '')
    .map(([key, value]) => `${key.padEnd(12)}${value}`)
    .join('\n');
}

function wholeNumber(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('must be a whole number ≥ 1');
  return n;
}

export function jobCommands(program: Command): void {
  const job = program.command('job').description('one job by its id: get, remove, retry, promote');

  storeOption(job.command('get <queue> <id>'))
    .description('the job: state, attempts, times, payload, errors, result; exit 1 when there is none')
    .action(async (queue: string, id: string, o: Where) => {
      const found = await withSpool(o, (spool) => spool.queue(queue).get(id));
      if (found === null) throw new NotFoundError('job', id, queue);
      print(o, jobJson(found), () => jobText(found));
    });

  storeOption(job.command('remove <queue> <id>'))
    .description('remove the job, whatever its state; exit 1 when there is none')
    .action(async (queue: string, id: string, o: Where) => {
      const removed = await withSpool(o, (spool) => spool.queue(queue).remove(id));
      print(o, { removed }, () => (removed ? `removed ${id}` : `${id} was not removed`));
    });

  storeOption(job.command('retry <queue> <id>'))
    .description('a dead job back to waiting with fresh attempts; exit 1 when it is not dead')
    .action(async (queue: string, id: string, o: Where) => {
      const retried = await withSpool(o, (spool) => spool.queue(queue).retryDead([id]));
      if (retried === 0) throw new NotFoundError('job', id, queue, 'no dead job with this id');
      print(o, { retried }, () => `retried ${id}`);
    });

  storeOption(job.command('promote <queue> <id>'))
    .description('a delayed job made due now; exit 1 when there is none or it is not delayed')
    .action(async (queue: string, id: string, o: Where) => {
      await withSpool(o, (spool) => spool.queue(queue).promote(id));
      print(o, { promoted: 1 }, () => `promoted ${id}`);
    });

  storeOption(program.command('lease <queues...>'))
    .description(
      'lease jobs for a script: a line per job, `<token> <data as JSON>`; finish each with `spool ack <token>`',
    )
    .option('--max <n>', 'most jobs', wholeNumber, 1)
    .option('--visibility <duration>', "how long the lease lasts, e.g. '5m'; default the job's own")
    .option('--wait <duration>', "wait this long for a job when there is none, e.g. '30s'")
    .action(async (queues: string[], o: Where & { max: number; visibility?: string; wait?: string }) => {
      const jobs = await withSpool(o, async (spool) =>
        (
          await spool.lease({
            queues,
            max: o.max,
            ...(o.visibility === undefined ? {} : { visibility: o.visibility }),
            ...(o.wait === undefined ? {} : { wait: o.wait }),
          })
        ).map(({ id, queue, token, data, attempt, leaseUntil }) => ({ id, queue, token, data, attempt, leaseUntil })),
      );
      print(o, jobs, () => jobs.map((j) => `${j.token} ${JSON.stringify(j.data)}`).join('\n'));
    });

  storeOption(program.command('ack <tokens...>'))
    .description('finish leased jobs by their tokens, all in one call; exit 1 when any lease was lost')
    .action(async (tokens: string[], o: Where) => {
      const answer = await withSpool(o, (spool) => spool.ack(tokens));
      print(o, answer, ({ acked, lost }) => [`acked ${acked}`, ...lost.map((token) => `lost ${token}`)].join('\n'));
      if (answer.lost.length > 0) process.exitCode = 1;
    });
}
