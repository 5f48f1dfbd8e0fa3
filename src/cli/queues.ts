// Queues as a whole: `spool stats` (counts, `--watch`), `spool pause` / `spool resume`.
import type { Command } from 'commander';
import type { Counts } from '../index.ts';
import { countsTable, print } from './output.ts';
import { storeOption, withSpool } from './target.ts';
import type { Target, Where } from './target.ts';

type Row = { readonly name: string; readonly counts: Counts };

async function countsOf(spool: Target, names: readonly string[]): Promise<Row[]> {
  const queues = [...names];
  // With no names: every subscriber queue of every topic (the store keeps no list of plain queues).
  if (queues.length === 0)
    for (const topic of await spool.topics())
      for (const s of (await spool.topic(topic).info()).subscribers) queues.push(s.queue);
  return Promise.all(queues.map(async (name) => ({ name, counts: await spool.queue(name).counts() })));
}

/** Prints `rows()` now and, with `--watch`, again every so many seconds until Ctrl-C. */
async function watching(o: Where & { watch?: number }, rows: () => Promise<Row[]>): Promise<void> {
  print(o, await rows(), countsTable);
  if (o.watch === undefined) return;
  const stop = new AbortController();
  process.once('SIGINT', () => stop.abort());
  while (!stop.signal.aborted) {
    await new Promise((resolve) => setTimeout(resolve, o.watch! * 1000));
    if (stop.signal.aborted) break;
    // A terminal is cleared for each table; JSON goes out a document per line.
    if (o.json !== true) process.stdout.write('\x1b[2J\x1b[H');
    print(o, await rows(), countsTable);
  }
}

export function queueCommands(program: Command): void {
  storeOption(program.command('stats [queues...]'))
    .description('counts per queue (default: every topic subscriber queue)')
    .option('--watch <seconds>', 'refresh every so many seconds', Number)
    .action(async (queues: string[], o: Where & { watch?: number }) => {
      await withSpool(o, (spool) => watching(o, () => countsOf(spool, queues)));
    });

  for (const [action, paused] of [
    ['pause', true],
    ['resume', false],
  ] as const)
    storeOption(program.command(`${action} <queues...>`))
      .description(paused ? 'stop leases from these queues (adds go on)' : 'let leases take from these queues again')
      .action(async (queues: string[], o: Where) => {
        await withSpool(o, async (spool) => {
          for (const name of queues) await (paused ? spool.queue(name).pause() : spool.queue(name).resume());
        });
        print(o, { queues, paused }, () => `${paused ? 'paused' : 'resumed'} ${queues.join(', ')}`);
      });
}
