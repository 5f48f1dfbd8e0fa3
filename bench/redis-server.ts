// A private redis-server from the system binary, on a free port in a temp dir, for the Redis-backed peers.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './free-port.ts';
import type { Durability } from './scenarios.ts';

/** `none`: no AOF, no snapshots, so a restart loses every job. `always`: AOF fsynced before each reply. */
export type RedisPersistence = 'none' | 'always';

export interface RedisServer {
  readonly port: number;
  readonly version: string;
  readonly durable: Durability;
  /** Fresh state between scenarios. */
  flush(): Promise<void>;
  /** `used_memory` of INFO memory, in bytes. */
  usedMemory(): Promise<number>;
  stop(): Promise<void>;
}

const binary = 'redis-server';
const readyTimeoutMs = 10_000;

/** The redis-server version on PATH, or undefined when there is none. */
export function redisServerVersion(): string | undefined {
  const probe = spawnSync(binary, ['--version'], { encoding: 'utf8' });
  if (probe.error) return undefined;
  return /v=(\S+)/.exec(probe.stdout)?.[1] ?? 'unknown';
}

/**
 * Sends one command and resolves with its reply: the line of a simple reply, or the text of a
 * bulk one (INFO); an error reply rejects.
 */
function command(port: number, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let reply = '';
    socket.setEncoding('utf8');
    socket.on('error', reject);
    socket.on('data', (chunk: string) => {
      reply += chunk;
      const end = reply.indexOf('\r\n');
      if (end < 0) return;
      const line = reply.slice(0, end);
      const bulk = /^\$(\d+)$/.exec(line);
      if (bulk !== null && Buffer.byteLength(reply) < end + 2 + Number(bulk[1])) return;
      socket.destroy();
      if (line.startsWith('-')) reject(new Error(`redis: ${line.slice(1)}`));
      else resolve(bulk === null ? line : reply.slice(end + 2));
    });
    socket.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`);
  });
}

/**
 * Shrinks the AOF to the empty data set and waits for the rewrite to end. FLUSHALL leaves the
 * file as long as before, so without this the automatic rewrite (at twice the last size) falls
 * in whichever scenario comes after enough others, and forks and writes while it is timed.
 */
async function rewriteAof(port: number): Promise<void> {
  const deadline = Date.now() + readyTimeoutMs;
  const rewriteEnded = async (): Promise<void> => {
    while ((await command(port, 'INFO', 'persistence')).includes('aof_rewrite_in_progress:1') && Date.now() < deadline)
      await sleep(20);
  };
  // One the server started by itself must end first: BGREWRITEAOF refuses to run beside it.
  await rewriteEnded();
  await command(port, 'BGREWRITEAOF');
  await rewriteEnded();
}

export async function startRedis(persistence: RedisPersistence): Promise<RedisServer> {
  const version = redisServerVersion();
  if (version === undefined) throw new Error(`${binary} is not on PATH; the Redis-backed peers need it`);
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'spool-bench-redis-'));
  const log = join(dir, 'redis.log');
  const aof = persistence === 'always' ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no'];
  const child = spawn(
    binary,
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--logfile', log, '--save', '', ...aof],
    { stdio: 'ignore' },
  );
  // The server must not outlive a bench that throws or exits early.
  const kill = (): void => void child.kill('SIGKILL');
  process.on('exit', kill);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    process.off('exit', kill);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    const pong = await command(port, 'PING').catch(() => undefined);
    if (pong === '+PONG') break;
    if (child.exitCode !== null || Date.now() > deadline) {
      const tail = readFileSync(log, { encoding: 'utf8', flag: 'a+' }).slice(-2_000);
      await stop();
      throw new Error(`redis-server on port ${port} did not start:\n${tail}`);
    }
    await sleep(20);
  }
  return {
    port,
    version,
    durable: persistence === 'always' ? 'power-loss' : 'none',
    flush: async () => {
      await command(port, 'FLUSHALL', 'SYNC');
      if (persistence === 'always') await rewriteAof(port);
    },
    usedMemory: async () => Number(/used_memory:(\d+)/.exec(await command(port, 'INFO', 'memory'))?.[1]),
    stop,
  };
}
