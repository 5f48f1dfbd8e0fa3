// The Lua scripts, one file each in lua/, with lua/lib.lua (the key layout and settle) put in
// front of every one. ioredis' defineCommand sends them by SHA (EVALSHA) and loads them again
// after a NOSCRIPT (a restarted or flushed server), so each state change is one round trip.
// A script whose first line is `#!lua flags=allow-oom` runs when Redis is at its maxmemory, so
// that workers can drain a full server while adds are refused (Redis 7 reads the flags).
import { readFileSync } from 'node:fs';
import type { Cluster, Redis } from 'ioredis';

export const scriptNames = [
  'add',
  'lease',
  'ack',
  'nack',
  'extend',
  'get',
  'list',
  'counts',
  'remove',
  'hold',
  'requeue',
  'purge',
  'configure',
  'set-meta',
] as const;

export type ScriptName = (typeof scriptNames)[number];
export type Arg = string | number | Buffer;
/** Runs one script: its keys, then its arguments; bulk replies come back as Buffers. */
export type Script = (keys: readonly string[], args: readonly Arg[]) => Promise<unknown>;

const read = (name: string): string => readFileSync(new URL(`./lua/${name}.lua`, import.meta.url), 'utf8');

let sources: ReadonlyMap<ScriptName, string> | null = null;

function loadSources(): ReadonlyMap<ScriptName, string> {
  if (sources === null) {
    const lib = read('lib');
    sources = new Map(
      scriptNames.map((name) => {
        const body = read(name);
        const shebang = body.startsWith('#!') ? body.slice(0, body.indexOf('\n') + 1) : '';
        return [name, `${shebang}${lib}\n${body.slice(shebang.length)}`];
      }),
    );
  }
  return sources;
}

const commandName = (name: ScriptName): string => `spool_${name.replace('-', '_')}`;

/** Defines every script on `client` and returns a function per script. */
export function defineScripts(client: Redis | Cluster): Record<ScriptName, Script> {
  const scripts = {} as Record<ScriptName, Script>;
  for (const [name, lua] of loadSources()) {
    const command = commandName(name);
    client.defineCommand(command, { lua });
    const method = (client as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>)[
      `${command}Buffer`
    ] as (...args: unknown[]) => Promise<unknown>;
    scripts[name] = (keys, args) => method.call(client, keys.length, ...keys, ...args);
  }
  return scripts;
}
