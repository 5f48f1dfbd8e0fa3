// Queues as a whole: `spool queues` (every queue), `spool stats` (counts, `--watch`), `spool pause` / `spool resume`.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import { ValidationError } from '../index.ts';
import type { Counts } from '../index.ts';
import { settingsJson } from '../server/index.ts';
import { countsTable, print } from './output.ts';
import { storeOption, withSpool } from './target.ts';
import type { Target, Where } from './target.ts';

type Row = { readonly name: string; readonly counts: Counts };

async function countsOf(spool: Target, names: readonly string[]): Promise<Row[]> {
  // With no names: every queue the store knows, from its list of queues.
  if (names.length === 0) return (await spool.queues()).map(({ name, counts }) => ({ name, counts }));
  return Promise.all(names.map(async (name) => ({ name, counts: await spool.queue(name).counts() })));
}

/** Every queue, its settings as the HTTP API and `spool queue show --json` write them, on a store or a server alike. */
async function queuesOf(spool: Target): Promise<(Row & { readonly settings: Record<string, unknown> })[]> {
  return (await spool.queues()).map(({ name, counts, settings }) => ({
    name,
    counts,
    settings: settingsJson(settings),
  }));
}

/** setTimeout's longest wait, in whole seconds: past it node waits 1 ms instead. */
const longestWatch = Math.floor((2 ** 31 - 1) / 1000);

/**
 * `--watch` seconds, from a tenth of a second: 0, a negative number or a word redrew in a busy
 * loop, and a redraw sooner than that is one nobody can read that costs a read of every queue.
 */
function watchSeconds(value: string): number {
  const seconds = Number(value);
  if (!(seconds >= 0.1 && seconds <= longestWatch))
    throw new ValidationError('--watch', `must be seconds from 0.1 to ${longestWatch}, got ${JSON.stringify(value)}`);
  return seconds;
}

/** Prints `rows()` now and, with `--watch`, again every so many seconds until Ctrl-C. */
async function watching<R extends Row>(
  o: Where & { watch?: number },
  rows: () => Promise<readonly R[]>,
): Promise<void> {
  print(o, await rows(), countsTable);
  if (o.watch === undefined) return;
  const stop = new AbortController();
  process.once('SIGINT', () => stop.abort());
  while (!stop.signal.aborted) {
    // Ctrl-C ends the wait: it waited the whole interval out, up to a minute with --watch 60.
    await sleep(o.watch * 1000, undefined, { signal: stop.signal }).catch(() => {});
    if (stop.signal.aborted) break;
    // A terminal is cleared for each table; JSON goes out a document per line.
    if (o.json !== true) process.stdout.write('\x1b[2J\x1b[H');
    print(o, await rows(), countsTable);
  }
}

export function queueCommands(program: Command): void {
  storeOption(program.command('queues'))
    .description('every queue the store knows, with its counts (--json: with its stored settings too)')
    .option('--watch <seconds>', 'refresh every so many seconds (0.1 or more)', watchSeconds)
    .action(async (o: Where & { watch?: number }) => {
      await withSpool(o, (spool) => watching(o, () => queuesOf(spool)));
    });

  storeOption(program.command('stats [queues...]'))
    .description('counts per queue (default: every queue the store knows)')
    .option('--watch <seconds>', 'refresh every so many seconds (0.1 or more)', watchSeconds)
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
