// One queue's stored settings (issue 14): `spool queue show <queue>` and `spool queue set <queue>
// --max-attempts … --backoff …`, on a store or through a server like every other command. The
// flags are turned into the library's `StoredQueueOptions` here; the library checks the values.
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { ValidationError } from '../index.ts';
import type { BackoffOptions, KeepOptions, QueueSettings, Retention, StoredQueueOptions } from '../index.ts';
import { settingsJson } from '../server/index.ts';
import { print } from './output.ts';
import { storeOption, withSpool } from './target.ts';
import type { Where } from './target.ts';

/**
 * A whole number ≥ 1, or the word meaning no limit, kept as the word: commander stores a parser's
 * null as '' (so `--max-length none` was refused), and `storedOptions` turns the words into values.
 */
const limitOr =
  <W extends string>(word: W) =>
  (value: string): number | W => {
    if (value === word) return word;
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError(`a whole number ≥ 1, or '${word}'`);
    return n;
  };

/** `<duration>` (fixed), or `fixed:<delay>` / `exponential:<delay>[:<max delay>]`. */
function backoffOption(value: string): BackoffOptions | string {
  const [type, delay, maxDelay, ...rest] = value.split(':');
  if (delay === undefined) return value;
  if ((type !== 'fixed' && type !== 'exponential') || rest.length > 0 || (type === 'fixed' && maxDelay !== undefined))
    throw new InvalidArgumentError("a duration, 'fixed:<delay>' or 'exponential:<delay>[:<max delay>]'");
  return maxDelay === undefined ? { type, delay } : { type, delay, maxDelay };
}

/** `<count>`, `<count>,<age>`, `all` (keep every one) or `none`. */
function keepOption(value: string): boolean | number | KeepOptions {
  if (value === 'all') return true;
  if (value === 'none') return false;
  const [count, age, ...rest] = value.split(',');
  const n = Number(count);
  if (!Number.isSafeInteger(n) || n < 0 || rest.length > 0)
    throw new InvalidArgumentError("'<count>', '<count>,<age>' (e.g. '1000,1d'), 'all' or 'none'");
  return age === undefined ? n : { count: n, age };
}

interface SetFlags {
  maxAttempts?: number | 'unlimited';
  backoff?: BackoffOptions | string;
  visibility?: string;
  ttl?: string;
  maxLength?: number | 'none';
  keepCompleted?: boolean | number | KeepOptions;
  keepDead?: boolean | number | KeepOptions;
}

const flagNames = [
  '--max-attempts',
  '--backoff',
  '--visibility',
  '--ttl',
  '--max-length',
  '--keep-completed',
  '--keep-dead',
];

function storedOptions(flags: SetFlags): StoredQueueOptions {
  const options: StoredQueueOptions = {};
  if (flags.maxAttempts !== undefined)
    options.maxAttempts = flags.maxAttempts === 'unlimited' ? Infinity : flags.maxAttempts;
  if (flags.backoff !== undefined) options.backoff = flags.backoff;
  if (flags.visibility !== undefined) options.visibility = flags.visibility;
  if (flags.ttl !== undefined) options.ttl = flags.ttl === 'none' ? null : flags.ttl;
  if (flags.maxLength !== undefined) options.maxLength = flags.maxLength === 'none' ? null : flags.maxLength;
  if (flags.keepCompleted !== undefined) options.keepCompleted = flags.keepCompleted;
  if (flags.keepDead !== undefined) options.keepDead = flags.keepDead;
  if (Object.keys(options).length === 0) throw new ValidationError('options', `give one of ${flagNames.join(', ')}`);
  return options;
}

/** Milliseconds as the largest whole unit that fits (`90s`, `2h`), `none` for null or Infinity. */
function duration(ms: number | null): string {
  if (ms === null || ms === Infinity) return 'none';
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const)
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}

/** The settings as `key  value` lines. */
function settingsText(settings: QueueSettings): string {
  const { backoff } = settings;
  const limit = (n: number | null) => (n === null || n === Infinity ? 'unlimited' : String(n));
  const keep = ({ count, ageMs }: Retention) => `${limit(count)}, for ${ageMs === Infinity ? 'ever' : duration(ageMs)}`;
  const rows: [string, string][] = [
    ['max length', limit(settings.maxLength)],
    ['max attempts', limit(settings.maxAttempts)],
    [
      'backoff',
      `${backoff.kind} ${duration(backoff.delayMs)}, at most ${duration(backoff.maxDelayMs)}, jitter ${backoff.jitter}`,
    ],
    ['visibility', duration(settings.visibilityMs)],
    ['ttl', duration(settings.ttlMs)],
    ['keep completed', keep(settings.keepCompleted)],
    ['keep dead', keep(settings.keepDead)],
    ['paused', settings.paused ? 'yes' : 'no'],
  ];
  return rows.map(([key, value]) => `${key.padEnd(16)}${value}`).join('\n');
}

export function queueSettingsCommands(program: Command): void {
  const queue = program.command('queue').description("one queue's stored settings: show, set");

  storeOption(queue.command('show <queue>'))
    .description('the settings every process, the server and the CLI use for this queue')
    .action(async (name: string, o: Where) => {
      const settings = await withSpool(o, (spool) => spool.queue(name).settings());
      print(o, settingsJson(settings), () => settingsText(settings));
    });

  storeOption(queue.command('set <queue>'))
    .description('change the settings given (the others keep theirs); prints them all')
    .option('--max-attempts <n>', "leases before a job goes dead, or 'unlimited'", limitOr('unlimited'))
    .option(
      '--backoff <backoff>',
      "a duration (fixed), or 'fixed:<delay>', 'exponential:<delay>[:<max delay>]'",
      backoffOption,
    )
    .option('--visibility <duration>', "lease length, e.g. '30s'")
    .option('--ttl <duration>', "new jobs go this long after their add, or 'none'")
    .option('--max-length <n>', "most jobs waiting or delayed, or 'none'", limitOr('none'))
    .option('--keep-completed <keep>', "completed jobs kept: '<count>', '<count>,<age>', 'all' or 'none'", keepOption)
    .option('--keep-dead <keep>', "dead jobs kept: '<count>', '<count>,<age>', 'all' or 'none'", keepOption)
    .action(async (name: string, o: Where & SetFlags) => {
      const options = storedOptions(o);
      const settings = await withSpool(o, (spool) => spool.queue(name).configure(options));
      print(o, settingsJson(settings), () => settingsText(settings));
    });
}
