// Spawns child.ts for one scenario and reads its one-line result; a crash or a hang becomes a failed outcome.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ChildResult, ChildSpec } from './child.ts';
import type { Outcome } from './plan.ts';

const childPath = fileURLToPath(new URL('./child.ts', import.meta.url));
// Beyond the scenario's own cap: prefill, close and process start-up.
const graceMs = 120_000;
// lease-depth fills its deep queue first, untimed; on PostgreSQL 500,000 jobs take a few minutes on this machine.
const deepFillMs = 600_000;

/** How long a child may take before it is killed as hung. */
const budgetMs = ({ scenario, sizes }: ChildSpec): number =>
  scenario === 'lease-depth' ? 2 * sizes.depth.capMs + deepFillMs : sizes.capMs + graceMs;

export function runChild(spec: ChildSpec): Promise<Outcome> {
  return new Promise((resolve) => {
    // process.execArgv carries `--import tsx` into the child.
    const child = spawn(process.execPath, [...process.execArgv, childPath, JSON.stringify(spec)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => (stdout += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), budgetMs(spec));
    child.on('error', (error) => {
      clearTimeout(timer);
      resolve({ ok: false, error: error.message });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const last = stdout.trimEnd().split('\n').at(-1) ?? '';
      try {
        if (code !== 0) throw new Error(`child exited with ${signal ?? `code ${code}`}`);
        resolve({ ok: true, ...(JSON.parse(last) as ChildResult) });
      } catch (error) {
        resolve({ ok: false, error: error instanceof Error ? error.message : String(error) });
      }
    });
  });
}
