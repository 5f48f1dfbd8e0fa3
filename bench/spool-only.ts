// Without --peers the bench prints spool's figures as it always has: one list, or one JSON object.
import type { ChildResult } from './child.ts';
import type { RowResult } from './plan.ts';
import { bulkSize, window } from './scenarios.ts';
import type { ScenarioId, Sizes } from './scenarios.ts';

export interface SpoolResults {
  store: string;
  n: number;
  latencySamples: number;
  payloadBytes: number;
  warmup: number;
  enqueueSinglePerSec: number;
  enqueueBulkPerSec: number;
  e2eC1PerSec: number;
  e2eC64PerSec: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  /** The adds' own p99 in the latency scenario: the floor under add→handler. */
  latencyAddP99Ms: number;
  /** The largest of the scenarios' processes. */
  peakRssMb: number;
  /** Only when `--scenarios` named lease-depth. */
  leaseShallowPerSec?: number;
  leaseDeepPerSec?: number;
}

function collect(store: string, result: RowResult, sizes: Sizes): SpoolResults {
  // A scenario left out by --scenarios is NaN; one that failed ends the run.
  const get = (scenario: ScenarioId): ChildResult | undefined => {
    const outcome = result.outcomes.get(scenario);
    if (outcome && !outcome.ok) throw new Error(`${scenario} failed: ${outcome.error}`);
    return outcome;
  };
  const rate = (scenario: ScenarioId): number => {
    const figures = get(scenario)?.figures;
    return figures?.kind === 'throughput' ? figures.jobsPerSec : NaN;
  };
  const latency = get('latency')?.figures;
  const depth = get('lease-depth')?.figures;
  return {
    store,
    n: sizes.n,
    latencySamples: sizes.latencySamples,
    payloadBytes: sizes.payloadBytes,
    warmup: sizes.warmup,
    enqueueSinglePerSec: rate('enqueue-single'),
    enqueueBulkPerSec: rate('enqueue-bulk'),
    e2eC1PerSec: rate('e2e-c1'),
    e2eC64PerSec: rate('e2e-c64'),
    latencyP50Ms: latency?.kind === 'latency' ? latency.p50Ms : NaN,
    latencyP99Ms: latency?.kind === 'latency' ? latency.p99Ms : NaN,
    latencyAddP99Ms: latency?.kind === 'latency' ? latency.addP99Ms : NaN,
    peakRssMb: Math.max(...[...result.outcomes.keys()].map((s) => get(s)?.peakRssMb ?? NaN)),
    ...(depth?.kind === 'depth' && { leaseShallowPerSec: depth.shallowPerSec, leaseDeepPerSec: depth.deepPerSec }),
  };
}

export function printSpoolOnly(store: string, result: RowResult, sizes: Sizes, json: boolean): void {
  const results = collect(store, result, sizes);
  if (json) {
    console.log(JSON.stringify(results));
    return;
  }
  const { n, latencySamples: samples } = sizes;
  const rate = (x: number): string => (Number.isNaN(x) ? 'not run' : `${Math.round(x).toLocaleString('en-US')}/s`);
  const ms = (x: number): string => (Number.isNaN(x) ? 'not run' : `${x.toFixed(3)} ms`);
  const rows: [string, string][] = [
    [`enqueue single (${window.toLocaleString('en-US')} outstanding)`, rate(results.enqueueSinglePerSec)],
    [`enqueue bulk (addBulk ${bulkSize.toLocaleString('en-US')})`, rate(results.enqueueBulkPerSec)],
    [`end-to-end c=1 (backlog N=${n.toLocaleString('en-US')})`, rate(results.e2eC1PerSec)],
    [`end-to-end c=64 (backlog N=${n.toLocaleString('en-US')})`, rate(results.e2eC64PerSec)],
    [`add→handler latency p50 (${samples.toLocaleString('en-US')} samples)`, ms(results.latencyP50Ms)],
    [`add→handler latency p99 (${samples.toLocaleString('en-US')} samples)`, ms(results.latencyP99Ms)],
    ["  the adds' own p99 (until in)", ms(results.latencyAddP99Ms)],
    ['peak RSS', `${results.peakRssMb.toFixed(1)} MB`],
  ];
  const { leaseShallowPerSec: shallow, leaseDeepPerSec: deep } = results;
  if (shallow !== undefined && deep !== undefined) {
    const queued = (x: number): string => x.toLocaleString('en-US');
    rows.splice(
      -1,
      0,
      [`lease+ack from ${queued(sizes.depth.shallow)} queued`, rate(shallow)],
      [
        `lease+ack from ${queued(sizes.depth.deep)} queued`,
        `${rate(deep)} (${(deep / shallow).toFixed(2)}× the shallow)`,
      ],
    );
  }
  const width = Math.max(...rows.map(([label]) => label.length));
  console.log(
    `store: ${store} (payloads of ${sizes.payloadBytes} bytes; the enqueue scenarios after ${sizes.warmup} unmeasured jobs)`,
  );
  for (const [label, value] of rows) console.log(`  ${label.padEnd(width)}  ${value}`);
}
