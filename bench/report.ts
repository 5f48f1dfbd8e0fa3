// Results as tables, one per scenario: each row a system and its durability, its figure and spool/peer.
import type { Outcome, RowResult } from './plan.ts';
import { bulkSize, latencyGapMs, leaseConcurrency, window } from './scenarios.ts';
import type { Durability, ScenarioId, Sizes } from './scenarios.ts';

type MetricKey =
  | 'jobsPerSec'
  | 'p50Ms'
  | 'p99Ms'
  | 'addP99Ms'
  | 'peakRssMb'
  | 'serverBytesPerJob'
  | 'shallowPerSec'
  | 'deepPerSec'
  | 'deepOverShallow';

interface Metric {
  key: MetricKey;
  header: string;
  format(value: number): string;
  /** False for a figure that is itself a ratio of the row's own: no spool/peer column beside it. */
  compare?: false;
}

export interface TableRow {
  system: string;
  setup: string;
  durability: string;
  values: Partial<Record<MetricKey, number>>;
  /** A row of spool's own: the other rows' ratios are against it. */
  spool: boolean;
  /** spool's figure over this row's; absent on spool's own row and where either figure is missing. */
  ratios: Partial<Record<MetricKey, number>>;
  capped: boolean;
  /** Where only some figures hit the cap (lease-depth's two depths), those; else all when `capped`. */
  cappedMetrics?: MetricKey[];
  error?: string;
}

export interface Table {
  id: ScenarioId | 'server-memory' | 'peak-rss';
  title: string;
  /** How to read spool/peer for this table. */
  reading: string;
  metrics: Metric[];
  rows: TableRow[];
  /** The wall-clock cap of this table's runs, for the note under a capped figure. */
  capMs: number;
}

const count = (x: number): string => Math.round(x).toLocaleString('en-US');
const rate: Metric = { key: 'jobsPerSec', header: 'jobs/s', format: count };
const ms = (x: number): string => (x < 10 ? x.toFixed(3) : x.toFixed(1));
const p50: Metric = { key: 'p50Ms', header: 'p50 ms', format: ms };
const p99: Metric = { key: 'p99Ms', header: 'p99 ms', format: ms };
/** The floor under add→handler: a job is seen by no worker before its add is in. */
const addP99: Metric = { key: 'addP99Ms', header: 'add p99 ms', format: ms };
const rss: Metric = { key: 'peakRssMb', header: 'MB', format: (x) => x.toFixed(1) };
const bytes: Metric = { key: 'serverBytesPerJob', header: 'bytes/job', format: count };
const deepOverShallow: Metric = {
  key: 'deepOverShallow',
  header: 'deep/shallow',
  format: (x) => `${x.toFixed(2)}×`,
  compare: false,
};
// Two significant digits below 1, so that a ratio of 0.004 does not print as 0.00.
const ratioText = (r: number): string => `${r >= 1 ? r.toFixed(2) : r.toPrecision(2)}×`;
const faster = 'spool/peer > 1: spool handles more jobs per second';
const lower = 'spool/peer < 1: spool is lower';

export const durabilityLabels: Record<Durability, string> = {
  'power-loss': 'durable (survives power loss)',
  'process-crash': 'survives a process crash, not a power cut',
  none: 'not durable',
};

function figure(outcome: Extract<Outcome, { ok: true }>, key: MetricKey): number | undefined {
  const { figures } = outcome;
  if (key === 'serverBytesPerJob') return outcome.serverBytesPerJob;
  if (key === 'jobsPerSec') return figures.kind === 'throughput' ? figures.jobsPerSec : undefined;
  if (key === 'p50Ms' || key === 'p99Ms' || key === 'addP99Ms')
    return figures.kind === 'latency' ? figures[key] : undefined;
  if (figures.kind !== 'depth') return undefined;
  if (key === 'shallowPerSec' || key === 'deepPerSec') return figures[key];
  // A system that leased nothing from the shallow queue has no ratio to show.
  if (key === 'deepOverShallow')
    return figures.shallowPerSec > 0 ? figures.deepPerSec / figures.shallowPerSec : undefined;
  return undefined;
}

function describe(result: RowResult): { system: string; durability: string } {
  const ok = [...result.outcomes.values()].find((o) => o.ok);
  return {
    system: ok ? `${result.row.name} ${ok.version}` : result.row.name,
    durability: ok ? durabilityLabels[ok.durable] : 'unknown (no run succeeded)',
  };
}

function scenarioRow(result: RowResult, outcome: Outcome, metrics: Metric[]): Omit<TableRow, 'ratios' | 'spool'> {
  const base = { ...describe(result), setup: result.row.setup };
  if (!outcome.ok) return { ...base, values: {}, capped: false, error: outcome.error };
  const values: TableRow['values'] = {};
  for (const m of metrics) values[m.key] = figure(outcome, m.key);
  const { figures } = outcome;
  if (figures.kind !== 'depth') return { ...base, values, capped: figures.capped };
  const cappedMetrics: MetricKey[] = [
    ...(figures.shallowCapped ? (['shallowPerSec'] as const) : []),
    ...(figures.deepCapped ? (['deepPerSec'] as const) : []),
  ];
  return { ...base, values, capped: figures.capped, cappedMetrics };
}

function rssRow(result: RowResult): Omit<TableRow, 'ratios' | 'spool'> {
  const peaks = [...result.outcomes.values()].flatMap((o) => (o.ok ? [o.peakRssMb] : []));
  const base = { ...describe(result), setup: result.row.setup, capped: false };
  return peaks.length > 0 ? { ...base, values: { peakRssMb: Math.max(...peaks) } } : { ...base, values: {} };
}

// planRows names spool's rows so; a test's rows may set up any system under that name.
const isSpool = (r: RowResult): boolean => r.row.name === 'spool';

const persistenceOf = (result: RowResult): string | undefined =>
  'persistence' in result.row.spec ? result.row.spec.persistence : undefined;

/**
 * Each peer row's ratio is against spool's row on the same Redis set-up when spool ran on the
 * private servers too; else, with several stores, against the first spool row of the same
 * durability (plainjob FULL against spool's first power-safe store); else spool's first row.
 */
function withRatios(results: RowResult[], rows: Omit<TableRow, 'ratios' | 'spool'>[], metrics: Metric[]): TableRow[] {
  const spoolRows = results.flatMap((r, i) => (isSpool(r) ? [i] : []));
  return rows.map((row, index) => {
    const ratios: TableRow['ratios'] = {};
    const result = results[index]!;
    if (isSpool(result)) return { ...row, spool: true, ratios };
    const ref =
      spoolRows.find((i) => persistenceOf(results[i]!) === persistenceOf(result) && persistenceOf(result)) ??
      spoolRows.find((i) => rows[i]!.durability === row.durability) ??
      spoolRows[0];
    const spool = ref === undefined ? undefined : rows[ref];
    for (const { key } of metrics.filter((m) => m.compare !== false)) {
      const ours = spool?.values[key];
      const theirs = row.values[key];
      if (ours !== undefined && theirs !== undefined && theirs > 0) ratios[key] = ours / theirs;
    }
    return { ...row, spool: false, ratios };
  });
}

/** The ratios are against spool's rows, named `spool`. */
export function buildTables(results: RowResult[], sizes: Sizes): Table[] {
  const n = count(sizes.n);
  const { shallow, deep, leased } = sizes.depth;
  const depthRate = (key: 'shallowPerSec' | 'deepPerSec', depth: number): Metric => ({
    key,
    header: `jobs/s at ${count(depth)}`,
    format: count,
  });
  const scenarios: [ScenarioId, string, Metric[], string][] = [
    ['enqueue-single', `enqueue single (${count(window)} outstanding, N=${n})`, [rate], faster],
    ['enqueue-bulk', `enqueue bulk (${count(bulkSize)} per call, N=${n})`, [rate], faster],
    ['e2e-c1', `end-to-end c=1 (backlog N=${n})`, [rate], faster],
    ['e2e-c64', `end-to-end c=64 (backlog N=${n})`, [rate], faster],
    [
      'latency',
      `add→handler latency, idle worker c=1 (${count(sizes.latencySamples)} adds, one every ${latencyGapMs} ms)`,
      [p50, p99, addP99],
      lower,
    ],
    [
      'lease-depth',
      `lease+ack from a queue ${count(shallow)} and ${count(deep)} deep (c=${leaseConcurrency}, ${count(leased)} jobs each, filled in bulk first)`,
      [depthRate('shallowPerSec', shallow), depthRate('deepPerSec', deep), deepOverShallow],
      `${faster}; deep/shallow near 1: lease cost flat in depth`,
    ],
  ];
  const run = scenarios.filter(([id]) => results.some((r) => r.outcomes.has(id)));
  const tables: Table[] = run.map(([id, title, metrics, reading]) => {
    const measured = results.filter((r) => r.outcomes.has(id));
    const rows = measured.map((r) => scenarioRow(r, r.outcomes.get(id)!, metrics));
    const capMs = id === 'lease-depth' ? sizes.depth.capMs : sizes.capMs;
    return { id, title, reading, metrics, rows: withRatios(measured, rows, metrics), capMs };
  });
  const bulk = (r: RowResult): Outcome | undefined => r.outcomes.get('enqueue-bulk');
  const onRedis = results.filter((r) => {
    const outcome = bulk(r);
    return outcome?.ok === true && outcome.serverBytesPerJob !== undefined;
  });
  // Without spool on Redis there is nothing to compare the peers' figures with.
  if (onRedis.some(isSpool)) {
    const rows = onRedis.map((r) => scenarioRow(r, bulk(r)!, [bytes]));
    tables.push({
      id: 'server-memory',
      title: `Redis memory per queued job (INFO used_memory growth over enqueue bulk / its jobs, all waiting)`,
      reading: lower,
      metrics: [bytes],
      rows: withRatios(onRedis, rows, [bytes]),
      capMs: sizes.capMs,
    });
  }
  const rssTitle = 'peak RSS of the Node process (largest of its scenarios; servers not counted)';
  tables.push({
    id: 'peak-rss',
    title: rssTitle,
    reading: lower,
    metrics: [rss],
    rows: withRatios(results, results.map(rssRow), [rss]),
    capMs: sizes.capMs,
  });
  return tables;
}

export function renderTables(tables: Table[]): string {
  const out: string[] = [];
  for (const table of tables) {
    const columns = (m: Metric): string[] => (m.compare === false ? [m.header] : [m.header, 'spool/peer']);
    const header = ['system', 'setup', 'durability', ...table.metrics.flatMap(columns)];
    const lines = table.rows.map((row) => [
      row.system,
      row.setup,
      row.durability,
      ...table.metrics.flatMap((m) => {
        if (row.error !== undefined) return ['failed', ''].slice(0, columns(m).length);
        const value = row.values[m.key];
        const ratio = row.ratios[m.key];
        const shown =
          value === undefined
            ? 'n/a'
            : m.format(value) + ((row.cappedMetrics?.includes(m.key) ?? row.capped) ? '*' : '');
        if (m.compare === false) return [shown];
        return [shown, row.spool ? '—' : ratio === undefined ? 'n/a' : ratioText(ratio)];
      }),
    ]);
    const widths = header.map((h, c) => Math.max(h.length, ...lines.map((l) => l[c]!.length)));
    // Text columns align left, figures right.
    const cell = (text: string, c: number): string => (c < 3 ? text.padEnd(widths[c]!) : text.padStart(widths[c]!));
    out.push(`${table.title} — ${table.reading}`);
    for (const line of [header, ...lines]) out.push(`  ${line.map(cell).join('  ')}`.trimEnd());
    for (const row of table.rows) if (row.error !== undefined) out.push(`  ${row.system} (${row.setup}): ${row.error}`);
    if (table.rows.some((r) => r.capped))
      out.push(`  * hit the ${table.capMs / 1000} s cap: the figure covers the jobs done by then`);
    out.push('');
  }
  return out.join('\n');
}
