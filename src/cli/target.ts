// Where a command runs: on a store it opens (by default the data directory ./spool-data), on a
// server over HTTP (`--server`), or, when `spool serve` holds the data directory it was given, on
// that server: serve writes where it listens into the directory (SERVING.json), and a command that
// finds the directory locked by that very process talks to it instead of failing with LOCKED, or,
// when that serve has no HTTP, fails with a LOCKED that says so.
import { randomBytes } from 'node:crypto';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Option } from 'commander';
import type { Command } from 'commander';
import { connect, SpoolClient } from '../client/index.ts';
import { LockedError, open } from '../index.ts';
import type { AckAnswer, LeasedJob, LeaseOptions, QueueInfo, Spool } from '../index.ts';
import { defaultUrl } from '../open.ts';

/** What every store command is told: a store URL, or a server and its token. */
export interface Where {
  store: string;
  server?: string;
  token?: string;
  json?: boolean;
}

/** What the commands need, which a local Spool and a remote SpoolClient both have. */
export interface Target {
  queue(
    name: string,
  ): Pick<
    ReturnType<Spool['queue']>,
    | 'add'
    | 'get'
    | 'peek'
    | 'counts'
    | 'dead'
    | 'retryDead'
    | 'removeDead'
    | 'promote'
    | 'remove'
    | 'pause'
    | 'resume'
    | 'settings'
    | 'configure'
  >;
  topic(
    name: string,
  ): Pick<
    ReturnType<Spool['topic']>,
    'create' | 'addSubscribers' | 'removeSubscriber' | 'delete' | 'publish' | 'status' | 'info'
  >;
  topics(): Promise<string[]>;
  queues(): Promise<readonly QueueInfo[]>;
  lease(options: Omit<LeaseOptions, 'signal'> & { queues: readonly string[] }): Promise<readonly LeasedView[]>;
  ack(tokens: readonly string[]): Promise<AckAnswer>;
}

/** A leased job as a script sees it. */
type LeasedView = Pick<LeasedJob, 'id' | 'queue' | 'token' | 'data' | 'attempt' | 'leaseUntil'>;

/** What `--store` takes, for every command's help. */
export const storeForms =
  'store URL: file:<dir> (?durability=fsync|interval|none), memory:, ' +
  'sqlite:<file>, libsql:<file>, leveldb:<dir>, redis://[user:password@]host:port[/db], rediss://… (TLS), ' +
  'redis+cluster://host:port,host:port, postgres://user@host/db[?schema=spool]';

/**
 * `--store`: the flag, else SPOOL_STORE, else the data directory ./spool-data. The variable is
 * read by commander's env(), which --help shows by its name: as the option's default, its value
 * was printed by every --help and, after a usage mistake, on stderr, a Redis or PostgreSQL
 * password with it.
 */
export const storeUrlOption = (): Option =>
  new Option('--store <url>', storeForms).env('SPOOL_STORE').default(defaultUrl);

/**
 * `--store`, `--server`, `--token` (each from its SPOOL_* variable too) and `--json` (for a
 * command that prints data). A server wins over a store, but a flag wins over a variable: with
 * SPOOL_SERVER exported, `--store file:./other` went to the server all the same. Both flags at
 * once name two places: bad usage.
 */
export const storeOption = (command: Command, prints = true): Command => {
  command
    .addOption(storeUrlOption())
    .addOption(new Option('--server <url>', 'a spool server instead of a store').env('SPOOL_SERVER'))
    .addOption(new Option('--token <token>', 'bearer token for --server').env('SPOOL_TOKEN'))
    .hook('preAction', (self) => {
      if (self.getOptionValueSource('store') !== 'cli') return;
      const server = self.getOptionValueSource('server');
      if (server === 'cli') self.error('error: --store and --server name two places: give one');
      if (server === 'env') self.setOptionValueWithSource('server', undefined, 'default');
    });
  return prints ? command.option('--json', 'print JSON instead of text') : command;
};

/** The file in a data directory that says where the `spool serve` holding it listens. */
const recordName = 'SERVING.json';

interface ServingRecord {
  readonly v: 1;
  readonly pid: number;
  /** The HTTP server's base URL, reachable from this host; absent when the serve has no HTTP. */
  readonly url?: string;
  /** The Disque protocol server's host:port, when it runs one. */
  readonly resp?: string;
}

/** Where a serve listens: `url` over HTTP, `resp` the Disque protocol, null for a server it does not run. */
interface Listening {
  readonly url: string | null;
  readonly resp: string | null;
}

/** Written by `spool serve` once it listens; whole or not at all (a temporary file renamed over it). */
export function recordServing(dir: string, { url, resp }: Listening): () => void {
  const record: ServingRecord = {
    v: 1,
    pid: process.pid,
    ...(url === null ? {} : { url }),
    ...(resp === null ? {} : { resp }),
  };
  const path = join(dir, recordName);
  const tmp = `${path}.${randomBytes(4).toString('hex')}`;
  writeFileSync(tmp, JSON.stringify(record));
  renameSync(tmp, path);
  return () => rmSync(path, { force: true });
}

const nowhere: Listening = { url: null, resp: null };

/** Where the serve that holds `locked.dir` listens, as it recorded it; nowhere for any other owner. */
function serving(locked: LockedError): Listening {
  let record: Partial<ServingRecord>;
  try {
    record = JSON.parse(readFileSync(join(locked.dir, recordName), 'utf8')) as Partial<ServingRecord>;
  } catch {
    return nowhere;
  }
  // A record left by a serve that died names another pid than the lock's owner now.
  if (record.pid !== locked.ownerPid) return nowhere;
  const text = (value: unknown) => (typeof value === 'string' ? value : null);
  return { url: text(record.url), resp: text(record.resp) };
}

/**
 * LOCKED by a serve without HTTP: a command cannot go over the Disque protocol, and the bare
 * "in use by process N" left the user to find out that the process was a serve, and what to change.
 */
class HeldWithoutHttp extends LockedError {
  constructor(locked: LockedError, resp: string) {
    super(locked.dir, locked.ownerPid);
    this.message =
      `${locked.dir} is held by spool serve (process ${locked.ownerPid}) without --http, serving the Disque ` +
      `protocol on ${resp}: commands reach a serve over HTTP only; give the serve --http too and they run beside it`;
  }
}

const client = (url: string, token: string | undefined): SpoolClient =>
  connect(url, token === undefined ? {} : { token });

/** The store `where` names, opened; or a client of the server it names, or of the serve that holds its directory. */
export async function reach(where: Omit<Where, 'json'>): Promise<Spool | SpoolClient> {
  if (where.server !== undefined) return client(where.server, where.token);
  try {
    return await open(where.store);
  } catch (error) {
    if (!(error instanceof LockedError)) throw error;
    const held = serving(error);
    if (held.url !== null) return client(held.url, where.token);
    if (held.resp !== null) throw new HeldWithoutHttp(error, held.resp);
    throw error;
  }
}

/** Runs `run` on the store or server `where` names, and closes what it opened. */
export async function withSpool<T>(where: Where, run: (target: Target) => Promise<T>): Promise<T> {
  const target = await reach(where);
  if (target instanceof SpoolClient) return run(target);
  await using spool = target;
  // Awaited here, inside the `using` scope: returning the bare promise would close the store under it.
  return await run(spool);
}
