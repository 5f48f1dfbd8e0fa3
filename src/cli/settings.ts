// `spool serve`'s settings, read once: flags over SPOOL_* environment variables over a JSON
// config file over defaults. Everything is checked here; the server gets plain typed values.
import { readFileSync } from 'node:fs';
import { parseDuration, ValidationError } from '../index.ts';
import { tokenGrants } from '../server/index.ts';
import type { TokenGrant } from '../server/index.ts';

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
  readonly logLevel: string;
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
  logLevel?: unknown;
}

const fileKeys = ['store', 'http', 'resp', 'token', 'tokensFile', 'tokens', 'bodyLimit', 'maxWait', 'logLevel'];

export const env: Readonly<Record<keyof RawSettings, string>> = {
  store: 'SPOOL_STORE',
  http: 'SPOOL_HTTP',
  resp: 'SPOOL_RESP',
  token: 'SPOOL_TOKEN',
  tokensFile: 'SPOOL_TOKENS_FILE',
  tokens: 'SPOOL_TOKENS',
  bodyLimit: 'SPOOL_BODY_LIMIT',
  maxWait: 'SPOOL_MAX_WAIT',
  logLevel: 'SPOOL_LOG_LEVEL',
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

function configFile(path: string | undefined): RawSettings {
  if (path === undefined) return {};
  const value = readJson(path, '--config');
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new ValidationError('--config', `${path} must hold a JSON object`);
  for (const key of Object.keys(value))
    if (!fileKeys.includes(key))
      throw new ValidationError(`--config ${key}`, `unknown setting (known: ${fileKeys.join(', ')})`);
  return value;
}

function fromEnv(vars: NodeJS.ProcessEnv): RawSettings {
  return Object.fromEntries(
    Object.entries(env).flatMap(([key, name]) => (vars[name] === undefined ? [] : [[key, vars[name]]])),
  );
}

function address(value: unknown, flag = '--http', example = '127.0.0.1:8080'): { host: string; port: number } {
  const match = typeof value === 'string' ? /^(?:(.+):)?(\d{1,5})$/.exec(value) : null;
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

export function serveSettings(
  flags: RawSettings & { config?: string },
  vars: NodeJS.ProcessEnv = process.env,
): ServeSettings {
  const defined = (o: RawSettings) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
  const raw: RawSettings = {
    ...configFile(flags.config ?? vars.SPOOL_CONFIG),
    ...defined(fromEnv(vars)),
    ...defined(flags),
  };
  const { host, port } = address(raw.http ?? '127.0.0.1:8080');
  const bodyLimit = Number(raw.bodyLimit ?? 1 << 20);
  if (!Number.isSafeInteger(bodyLimit) || bodyLimit < 1024)
    throw new ValidationError('--body-limit', `must be a whole number of bytes ≥ 1024, got ${String(raw.bodyLimit)}`);
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
    logLevel,
  });
}
