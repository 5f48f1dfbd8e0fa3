// `spool serve`'s settings, read once: flags over SPOOL_* environment variables over a config
// file (JSON or YAML; spool's own keys, or BlockQueue's config.yaml) over defaults. Everything is
// checked here; the server gets plain typed values.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { parseDuration, ValidationError } from '../index.ts';
import { tokenGrants } from '../server/index.ts';
import type { TokenGrant } from '../server/index.ts';
import { fromBlockQueue, isBlockQueueConfig } from './blockqueue-config.ts';

export interface ServeSettings {
  readonly store: string;
  readonly host: string;
  readonly port: number;
  /** Whether the HTTP server runs: unless only --resp was asked for. */
  readonly http: boolean;
  /** Where the Disque protocol server listens, or null for none. */
  readonly resp: { readonly host: string; readonly port: number } | null;
  readonly tokens: readonly TokenGrant[];
  readonly bodyLimit: number;
  readonly maxWaitMs: number;
  readonly idleTimeoutMs: number;
  readonly requestTimeoutMs: number;
  /** null: the server's default (1024, or half the open-file limit). */
  readonly maxConnections: number | null;
  readonly logLevel: string;
  /** A line per request at info; without it, request lines are logged at debug. */
  readonly accessLog: boolean;
  /** What the server logs at start about the config file: settings of another system it ignored. */
  readonly notes: readonly string[];
}

/** What flags, variables and the file may say, all as optional raw values. */
export interface RawSettings {
  store?: unknown;
  http?: unknown;
  resp?: unknown;
  token?: unknown;
  tokensFile?: unknown;
  tokens?: unknown;
  bodyLimit?: unknown;
  maxWait?: unknown;
  idleTimeout?: unknown;
  requestTimeout?: unknown;
  maxConnections?: unknown;
  logLevel?: unknown;
  accessLog?: unknown;
}

const fileKeys = [
  'store',
  'http',
  'resp',
  'token',
  'tokensFile',
  'tokens',
  'bodyLimit',
  'maxWait',
  'idleTimeout',
  'requestTimeout',
  'maxConnections',
  'logLevel',
  'accessLog',
];

export const env: Readonly<Record<keyof RawSettings, string>> = {
  store: 'SPOOL_STORE',
  http: 'SPOOL_HTTP',
  resp: 'SPOOL_RESP',
  token: 'SPOOL_TOKEN',
  tokensFile: 'SPOOL_TOKENS_FILE',
  tokens: 'SPOOL_TOKENS',
  bodyLimit: 'SPOOL_BODY_LIMIT',
  maxWait: 'SPOOL_MAX_WAIT',
  idleTimeout: 'SPOOL_IDLE_TIMEOUT',
  requestTimeout: 'SPOOL_REQUEST_TIMEOUT',
  maxConnections: 'SPOOL_MAX_CONNECTIONS',
  logLevel: 'SPOOL_LOG_LEVEL',
  accessLog: 'SPOOL_ACCESS_LOG',
};

const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function parseJson(text: string, field: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new ValidationError(field, 'is not valid JSON');
  }
}

function readJson(path: string, field: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ValidationError(field, `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  return parseJson(text, `${field} ${path}`);
}

/** A config file: JSON, or YAML when named .yaml / .yml; BlockQueue's config.yaml is translated. */
function configFile(path: string | undefined): { settings: RawSettings; notes: string[] } {
  if (path === undefined) return { settings: {}, notes: [] };
  const value = /\.ya?ml$/i.test(path) ? readYaml(path) : readJson(path, '--config');
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new ValidationError('--config', `${path} must hold an object of settings`);
  const object = value as Record<string, unknown>;
  if (isBlockQueueConfig(object)) return fromBlockQueue(object);
  for (const key of Object.keys(object))
    if (!fileKeys.includes(key))
      throw new ValidationError(`--config ${key}`, `unknown setting (known: ${fileKeys.join(', ')})`);
  return { settings: object, notes: [] };
}

function readYaml(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ValidationError('--config', `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  try {
    return parseYaml(text);
  } catch (error) {
    throw new ValidationError(`--config ${path}`, `is not valid YAML: ${(error as Error).message.split('\n')[0]}`);
  }
}

function fromEnv(vars: NodeJS.ProcessEnv): RawSettings {
  return Object.fromEntries(
    Object.entries(env).flatMap(([key, name]) => (vars[name] === undefined ? [] : [[key, vars[name]]])),
  );
}

/**
 * `--http`, else `PORT` on every interface, else 127.0.0.1:8080. PORT is how hosting platforms
 * (Heroku, Render, Cloud Run) say where to listen, and their router reaches the process from
 * outside it: bound to 127.0.0.1, a serve there answered nobody.
 */
function httpAddress(value: unknown, port: string | undefined): { host: string; port: number } {
  if (value === undefined && port !== undefined) {
    if (!/^\d{1,5}$/.test(port) || Number(port) > 65535)
      throw new ValidationError('PORT', `must be a port number, got ${JSON.stringify(port)}`);
    return { host: '0.0.0.0', port: Number(port) };
  }
  return address(value ?? '127.0.0.1:8080');
}

function address(value: unknown, flag = '--http', example = '127.0.0.1:8080'): { host: string; port: number } {
  // A config file's bare port is a number (`"http": 8080`, as BlockQueue's http.port): it was
  // refused as "must be [host:]port, got 8080".
  const text = Number.isSafeInteger(value) ? String(value) : value;
  const match = typeof text === 'string' ? /^(?:(.+):)?(\d{1,5})$/.exec(text) : null;
  const port = Number(match?.[2]);
  if (match === null || port > 65535)
    throw new ValidationError(flag, `must be [host:]port, e.g. ${example}, got ${String(value)}`);
  return { host: (match[1] ?? '127.0.0.1').replace(/^\[(.*)\]$/, '$1'), port };
}

function tokens(raw: RawSettings): TokenGrant[] {
  const grants: TokenGrant[] = [];
  if (raw.token !== undefined) grants.push(...tokenGrants([{ token: raw.token, scopes: ['admin'] }], '--token'));
  if (raw.tokens !== undefined)
    grants.push(
      ...tokenGrants(typeof raw.tokens === 'string' ? parseJson(raw.tokens, 'SPOOL_TOKENS') : raw.tokens, 'tokens'),
    );
  if (raw.tokensFile !== undefined) {
    if (typeof raw.tokensFile !== 'string') throw new ValidationError('--tokens-file', 'must be a path');
    grants.push(...tokenGrants(readJson(raw.tokensFile, '--tokens-file'), raw.tokensFile));
  }
  return grants;
}

/** A switch from a flag (true), a variable ("1", "true", "0", "false") or the config file (a boolean). */
function flag(value: unknown, field: string): boolean {
  if (value === undefined || value === false || value === '0' || value === 'false') return false;
  if (value === true || value === '1' || value === 'true') return true;
  throw new ValidationError(field, `must be true or false, got ${JSON.stringify(value)}`);
}

export function serveSettings(
  flags: RawSettings & { config?: string },
  vars: NodeJS.ProcessEnv = process.env,
): ServeSettings {
  const defined = (o: RawSettings) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
  const file = configFile(flags.config ?? vars.SPOOL_CONFIG);
  const raw: RawSettings = {
    ...file.settings,
    ...defined(fromEnv(vars)),
    ...defined(flags),
  };
  const { host, port } = httpAddress(raw.http, vars.PORT);
  const bodyLimit = Number(raw.bodyLimit ?? 1 << 20);
  if (!Number.isSafeInteger(bodyLimit) || bodyLimit < 1024)
    throw new ValidationError('--body-limit', `must be a whole number of bytes ≥ 1024, got ${String(raw.bodyLimit)}`);
  const maxConnections = raw.maxConnections === undefined ? null : Number(raw.maxConnections);
  if (maxConnections !== null && (!Number.isSafeInteger(maxConnections) || maxConnections < 1))
    throw new ValidationError('--max-connections', `must be a whole number ≥ 1, got ${String(raw.maxConnections)}`);
  const logLevel = raw.logLevel ?? 'info';
  if (typeof logLevel !== 'string' || !logLevels.includes(logLevel))
    throw new ValidationError('--log-level', `must be one of ${logLevels.join(', ')}, got ${JSON.stringify(logLevel)}`);
  if (raw.store !== undefined && typeof raw.store !== 'string') throw new ValidationError('--store', 'must be a URL');
  return Object.freeze({
    store: raw.store ?? 'file:./spool-data',
    host,
    port,
    http: raw.http !== undefined || raw.resp === undefined,
    resp: raw.resp === undefined ? null : address(raw.resp, '--resp', '127.0.0.1:7711'),
    tokens: tokens(raw),
    bodyLimit,
    maxWaitMs: parseDuration(raw.maxWait ?? '5m', '--max-wait'),
    idleTimeoutMs: parseDuration(raw.idleTimeout ?? '5s', '--idle-timeout'),
    requestTimeoutMs: parseDuration(raw.requestTimeout ?? '30s', '--request-timeout'),
    maxConnections,
    logLevel,
    accessLog: flag(raw.accessLog, '--access-log'),
    notes: file.notes,
  });
}
