// With --runs k each figure is the median of k runs, which damps the noise of a shared machine (peers.md saw
// run-to-run spreads up to 1.8×). A failed run fails the figure; a capped run marks it capped.
import type { Outcome } from './plan.ts';
import type { Figures } from './scenarios.ts';

type Ok = Extract<Outcome, { ok: true }>;

export const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

function medianFigures(all: Figures[]): Figures {
  const capped = all.some((f) => f.capped);
  const jobs = median(all.map((f) => f.jobs));
  const throughput = all.flatMap((f) => (f.kind === 'throughput' ? [f] : []));
  if (throughput.length === all.length)
    return { kind: 'throughput', jobsPerSec: median(throughput.map((f) => f.jobsPerSec)), jobs, capped };
  const depth = all.flatMap((f) => (f.kind === 'depth' ? [f] : []));
  if (depth.length === all.length)
    return {
      kind: 'depth',
      shallowPerSec: median(depth.map((f) => f.shallowPerSec)),
      deepPerSec: median(depth.map((f) => f.deepPerSec)),
      jobs,
      capped,
      shallowCapped: depth.some((f) => f.shallowCapped),
      deepCapped: depth.some((f) => f.deepCapped),
    };
  const latency = all.flatMap((f) => (f.kind === 'latency' ? [f] : []));
  return {
    kind: 'latency',
    p50Ms: median(latency.map((f) => f.p50Ms)),
    p99Ms: median(latency.map((f) => f.p99Ms)),
    addP99Ms: median(latency.map((f) => f.addP99Ms)),
    jobs,
    capped,
  };
}

export function combineRuns(outcomes: Outcome[]): Outcome {
  const failed = outcomes.find((o) => !o.ok);
  if (failed || outcomes.length === 1) return failed ?? outcomes[0]!;
  const runs = outcomes as Ok[];
  const bytes = runs.flatMap((o) => (o.serverBytesPerJob === undefined ? [] : [o.serverBytesPerJob]));
  return {
    ...runs[0]!,
    figures: medianFigures(runs.map((o) => o.figures)),
    peakRssMb: median(runs.map((o) => o.peakRssMb)),
    ...(bytes.length > 0 && { serverBytesPerJob: median(bytes) }),
  };
}
