// How commands print: text for people, one JSON document with --json for programs.
import type { Counts, JobInfo } from '../index.ts';

/** Prints `data` as JSON with `--json`, else as `text` makes it (nothing for ''). */
export function print<T>(options: { json?: boolean }, data: T, text: (data: T) => string): void {
  const out = options.json === true ? JSON.stringify(data) : text(data);
  if (out !== '') console.log(out);
}

/** JSON has no Infinity: an unlimited `maxAttempts` is null, as the HTTP API writes it. */
export const jobJson = (job: JobInfo) => ({
  ...job,
  maxAttempts: Number.isFinite(job.maxAttempts) ? job.maxAttempts : null,
});

/** Counts per queue as aligned columns. */
export function countsTable(rows: readonly { readonly name: string; readonly counts: Counts }[]): string {
  const header = ['queue', 'waiting', 'delayed', 'active', 'dead', 'completed', 'expired', 'paused'];
  const cells = rows.map(({ name, counts: c }) => [
    name,
    ...[c.waiting, c.delayed, c.active, c.dead, c.completed, c.expired].map(String),
    c.paused ? 'yes' : '',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] as string).length)));
  return [header, ...cells]
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i] as number))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
