// One scenario of one system in a process of its own, so that peak RSS is per scenario and runs do not
// disturb each other. The parent passes a `ChildSpec` as JSON and reads one `ChildResult` line from stdout.
import { runScenario } from './scenarios.ts';
import type { Durability, Figures, ScenarioId, Sizes } from './scenarios.ts';
import { openSubject } from './targets.ts';
import type { Target } from './targets.ts';

export interface ChildSpec {
  target: Target;
  scenario: ScenarioId;
  sizes: Sizes;
}

export interface ChildResult {
  version: string;
  durable: Durability;
  figures: Figures;
  peakRssMb: number;
}

const closeTimeoutMs = 10_000;

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '') as ChildSpec;
  const subject = await openSubject(spec.target, `bench-${spec.scenario}-${process.pid}`);
  let figures: Figures;
  try {
    figures = await runScenario(subject, spec.scenario, spec.sizes);
  } finally {
    // A peer that hangs on close must not hold the run; its figures are already taken.
    const cap = new Promise<void>((resolve) => setTimeout(resolve, closeTimeoutMs).unref());
    await Promise.race([subject.close(), cap]);
  }
  const result: ChildResult = {
    version: subject.version,
    durable: subject.durable,
    figures,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
  };
  console.log(JSON.stringify(result));
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
