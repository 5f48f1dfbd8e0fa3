// A real spool HTTP server on a random port (in this process, or `spool serve` as a child),
// and a small fetch helper to talk to it.
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { open } from '../../src/index.ts';
import type { Spool } from '../../src/index.ts';
import { createServer } from '../../src/server/index.ts';
import type { ServerOptions, HttpServer } from '../../src/server/index.ts';
import { testStore } from '../support/test-store.ts';

export interface Running {
  readonly spool: Spool;
  readonly server: HttpServer;
  readonly base: string;
  call(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Answer>;
  close(): Promise<void>;
}

export interface Answer {
  readonly status: number;
  readonly body: unknown;
  readonly text: string;
}

/** A server on a new spool, on the store SPOOL_TEST_STORE names (test/support/test-store.ts). */
export async function start(options: Omit<ServerOptions, 'spool'> = {}): Promise<Running> {
  const spool = await open(testStore.url());
  const server = await createServer({ ...options, spool });
  const base = await server.app.listen({ host: '127.0.0.1', port: 0 });
  return {
    spool,
    server,
    base,
    call: (method, path, body, headers) => request(base, method, path, body, headers),
    async close() {
      await server.close();
      await spool.close();
    },
  };
}

/** Sends `body` as JSON unless it is a string, which goes as it is (for malformed input). */
export async function request(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const response = await fetch(base + path, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown = undefined;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Left undefined: the test asserting JSON will say so.
  }
  return { status: response.status, body: parsed, text };
}

export interface Served {
  readonly child: ChildProcessWithoutNullStreams;
  readonly base: string;
}

/**
 * Starts `spool serve` on `store` and a random port; resolves once it logs its address.
 * `main` is the CLI from the sources through tsx, or the built dist/cli/main.js; `args` are more
 * flags, and `openFiles` runs it under `ulimit -n` of that many descriptors.
 */
export function serve(
  store: string,
  main = 'src/cli/main.ts',
  options: { readonly args?: readonly string[]; readonly openFiles?: number } = {},
): Promise<Served> {
  const loader = main.endsWith('.ts') ? ['--import', 'tsx'] : [];
  const argv = [...loader, main, 'serve', '--store', store, '--http', '127.0.0.1:0', ...(options.args ?? [])];
  const child =
    options.openFiles === undefined
      ? spawn(process.execPath, argv, { stdio: 'pipe' })
      : spawn('bash', ['-c', `ulimit -n ${options.openFiles} && exec "$0" "$@"`, process.execPath, ...argv], {
          stdio: 'pipe',
        });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const url = /"url":"([^"]+)"/.exec(out)?.[1];
      if (url !== undefined) resolve({ child, base: url });
    });
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.once('exit', (code) => reject(new Error(`spool serve exited with ${code}: ${err}${out}`)));
  });
}

/** SIGTERM, and resolves once the child is gone. */
export async function stop(served: Served): Promise<void> {
  const exited = new Promise((resolve) => served.child.once('exit', resolve));
  served.child.kill('SIGTERM');
  await exited;
}
