// The dashboard's only way to the server: the /v1 routes with the token the user logged in with.
// Every call carries `x-spool-ui`, so the audit log tells the dashboard's actions from others.

const tokenKey = 'spool.token';

export function savedToken(): string | null {
  return localStorage.getItem(tokenKey);
}

export function saveToken(token: string | null): void {
  if (token === null) localStorage.removeItem(tokenKey);
  else localStorage.setItem(tokenKey, token);
}

/** A failed call, with the server's error code. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** How long a page waits after a failed read or a dropped stream before it tries again. */
export const retryMs = 2000;

let onUnauthorized: (() => void) | null = null;

/**
 * What the shell does when the server stops accepting the token (revoked, or the server restarted
 * with other tokens): without it every page kept showing its last answers as if they were live.
 */
export function whenUnauthorized(handler: (() => void) | null): void {
  onUnauthorized = handler;
}

function headers(body: boolean): Record<string, string> {
  const token = savedToken();
  return {
    'x-spool-ui': '1',
    ...(token === null ? {} : { authorization: `Bearer ${token}` }),
    ...(body ? { 'content-type': 'application/json' } : {}),
  };
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(path, {
    method,
    headers: headers(body !== undefined),
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown = null;
  try {
    if (text !== '') parsed = JSON.parse(text);
  } catch (error) {
    // An error page that is not the server's JSON (a proxy's 502 in HTML): its status says it,
    // where the parser's `Unexpected token '<'` said nothing to the user.
    if (response.ok) throw error;
  }
  if (!response.ok) {
    if (response.status === 401) onUnauthorized?.();
    const error = (parsed as { error?: { code?: string; message?: string } } | null)?.error;
    const message = error?.message ?? `the server answered ${response.status} ${response.statusText}`.trim();
    throw new ApiError(response.status, error?.code ?? 'ERROR', message);
  }
  return parsed as T;
}

/** `/v1/queues/<queue>…` with the name escaped. */
export const queuePath = (queue: string, rest = ''): string => `/v1/queues/${encodeURIComponent(queue)}${rest}`;

/**
 * Reads a server-sent event stream with fetch, since EventSource cannot send the token. Calls
 * `onData` with each event's data; reconnects after a pause when the stream ends, until `signal`.
 */
export function subscribe<T>(path: string, onData: (data: T) => void, signal: AbortSignal): void {
  const run = async (): Promise<void> => {
    while (!signal.aborted) {
      try {
        const response = await fetch(path, { headers: headers(false), signal });
        if (response.status === 401) onUnauthorized?.();
        if (!response.ok || response.body === null) throw new Error(`stream answered ${response.status}`);
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const event = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const data = event
              .split('\n')
              .filter((line) => line.startsWith('data: '))
              .map((line) => line.slice(6))
              .join('\n');
            if (data !== '') onData(JSON.parse(data) as T);
          }
        }
      } catch {
        // Reconnects below, unless the page went elsewhere.
      }
      if (!signal.aborted) await new Promise((resolve) => setTimeout(resolve, retryMs));
    }
  };
  void run();
}

export type JobState = 'waiting' | 'delayed' | 'active' | 'dead' | 'completed';
export const states: readonly JobState[] = ['waiting', 'delayed', 'active', 'dead', 'completed'];

export interface Counts {
  waiting: number;
  delayed: number;
  active: number;
  dead: number;
  completed: number;
  expired: number;
  paused: boolean;
}

export interface Job {
  id: string;
  queue: string;
  state: JobState;
  data: unknown;
  priority: number;
  attempts: number;
  maxAttempts: number | null;
  nacks: number;
  createdAt: number;
  runAt: number;
  expiresAt: number | null;
  leaseUntil: number | null;
  lastError: string | null;
  errors: string[];
  result?: unknown;
  finishedAt: number | null;
}

export interface QueueSample {
  name: string;
  counts: Counts;
  rateIn: number;
  rateOut: number;
  oldestMs: number | null;
  workers: number;
  unattended: boolean;
}

export interface Snapshot {
  at: number;
  queues: QueueSample[];
  topics: { name: string; subscribers: { name: string; queue: string }[] }[];
}

export type History = Record<string, [number, number, number, number | null][]>;

export interface Whoami {
  who: string;
  auth: boolean;
  scopes: string[];
  prefix: string;
}
