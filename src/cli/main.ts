#!/usr/bin/env node
// The `spool` command: serve, work, migrate, add, peek, dead, stats, pause, resume, job, lease, ack, topic, check, demo,
// version. Exit codes: 0 done, 1 failed, 2 bad usage.
import { readFileSync } from 'node:fs';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { SpoolError, UnauthorizedError, UnknownStoreError, ValidationError } from '../index.ts';
import { check } from './check.ts';
import { demo } from './demo.ts';
import { jobCommands } from './jobs.ts';
import { localCommands } from './local.ts';
import { migrateCommand } from './migrate.ts';
import { storeForms, storeOption, storeUrlOption } from './target.ts';
import { queueCommands } from './queues.ts';
import { queueSettingsCommands } from './queue-settings.ts';
import { serve } from './serve.ts';
import { env, serveSettings } from './settings.ts';
import { work } from './work.ts';
import type { WorkOptions } from './work.ts';

const version = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

function wholeNumber(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('must be a whole number ≥ 1');
  return n;
}

const program = new Command('spool')
  .description('a durable job and message queue')
  .version(version, '--version')
  .exitOverride()
  .showHelpAfterError();

program
  .command('version')
  .description('print the version')
  .action(() => console.log(version));

program
  .command('demo')
  .description('add N jobs and process them with a worker')
  .addOption(storeUrlOption())
  .option('--jobs <n>', 'jobs to add', wholeNumber, 10_000)
  .option('--concurrency <c>', 'handlers at once', wholeNumber, 16)
  .action((options: { store: string; jobs: number; concurrency: number }) => demo(options));

const envOption = (flags: string, description: string, key: keyof typeof env) =>
  new Option(flags, `${description} (env ${env[key]})`);

program
  .command('serve')
  .description("the HTTP server (spool's /v1 API and BlockQueue's routes) and/or the Disque protocol server")
  .addOption(envOption('--store <url>', `${storeForms}; default file:./spool-data`, 'store'))
  .addOption(envOption('--http <[host:]port>', 'where to listen; default 0.0.0.0:$PORT, else 127.0.0.1:8080', 'http'))
  .addOption(envOption('--resp <[host:]port>', 'Disque protocol (RESP) server, e.g. 127.0.0.1:7711', 'resp'))
  .addOption(envOption('--token <token>', 'an admin bearer token (16+ characters)', 'token'))
  .addOption(
    envOption(
      '--tokens-file <file>',
      'JSON array of { token, scopes: [publish|consume|admin], prefix? }',
      'tokensFile',
    ),
  )
  .addOption(envOption('--body-limit <bytes>', 'largest request body; default 1048576', 'bodyLimit'))
  .addOption(envOption('--max-wait <duration>', 'longest long-poll; default 5m', 'maxWait'))
  .addOption(
    envOption(
      '--idle-timeout <duration>',
      'close a connection that sends no request this long; default 5s',
      'idleTimeout',
    ),
  )
  .addOption(
    envOption('--request-timeout <duration>', 'time for a request to arrive whole; default 30s', 'requestTimeout'),
  )
  .addOption(
    envOption(
      '--max-connections <n>',
      'most connections at once; default 1024 or half the open-file limit',
      'maxConnections',
    ),
  )
  .addOption(envOption('--log-level <level>', 'pino level; default info', 'logLevel'))
  .addOption(
    envOption('--access-log', 'a line per request (method, route, status, ms) at info, not debug', 'accessLog'),
  )
  .option(
    '--config <file>',
    "JSON or YAML file with any of these settings, or BlockQueue's config.yaml (env SPOOL_CONFIG)",
  )
  .action((flags: Record<string, string | undefined>) => serve(serveSettings(flags)));

storeOption(program.command('work <queue> <command...>'), false)
  .description('run `command` once per job, payload on stdin: exit 0 acks, else retried (spool work q -- ./handle.sh)')
  .option('--concurrency <c>', 'commands at once', wholeNumber, 1)
  .option(
    '--grace <duration>',
    'on SIGINT or SIGTERM, how long running commands may finish before they are killed and their jobs handed back',
    '30s',
  )
  .option('--timeout <duration>', 'how long one command may run: then it is killed and the attempt fails; default none')
  .action((queue: string, command: string[], options: WorkOptions) => work(queue, command, options));

program
  .command('check [dir]')
  .description('verify every record of a file store data directory (default ./spool-data); exit 1 on damage')
  .option('--repair', 'keep every intact record, drop the damage and the jobs whose payloads were in it')
  .action(async (dir: string | undefined, options: { repair?: boolean }) => {
    process.exitCode = await check(dir ?? './spool-data', options.repair === true);
  });

program
  .command('migrate')
  .description("bring a postgres:// store's schema to this version (opening it does too)")
  .addOption(
    new Option('--store <url>', 'the store, postgres://user@host/db[?schema=spool]')
      .env('SPOOL_STORE')
      .makeOptionMandatory(),
  )
  .option('--dry-run', 'print the migrations that would run, change nothing')
  .action((options: { store: string; dryRun?: boolean }) => migrateCommand(options.store, options.dryRun === true));

localCommands(program);
queueCommands(program);
queueSettingsCommands(program);
jobCommands(program);

// A reader that stops early (`spool demo | head`, `spool peek -n 1000 | less` quit) closes the
// pipe: what is left to print has nowhere to go, and the command ends quietly, as Unix tools do
// on SIGPIPE (node ignores the signal and would end with an EPIPE stack trace instead).
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  process.exit(0);
});

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // Help and version printed: success. A usage mistake: commander said what; exit 2.
    process.exitCode = error.exitCode === 0 ? 0 : 2;
  } else if (error instanceof ValidationError || error instanceof UnknownStoreError) {
    // A --store no store handles is a mistyped command, as a bad flag value is.
    console.error(`spool: ${error.message}`);
    process.exitCode = 2;
  } else if (error instanceof UnauthorizedError) {
    // Said by a server the user may not know they talked to: the serve holding the data directory.
    console.error(`spool: the server refused the call: ${error.message} (give its token with --token or SPOOL_TOKEN)`);
    process.exitCode = 1;
  } else {
    console.error(`spool: ${error instanceof SpoolError || error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  }
}
