// One scenario of one system in a process of its own, so that peak RSS is per scenario and runs do not
// disturb each other. The parent passes a `ChildSpec` as JSON and reads one `ChildResult` line from stdout.
import { runScenario } from './scenarios.ts';
import type { Measured, ScenarioId, Sizes } from './scenarios.ts';
import { openSubject } from './targets.ts';
import type { Target } from './targets.ts';

export interface ChildSpec {
  target: Target;
  scenario: ScenarioId;
  sizes: Sizes;
}

export interface ChildResult extends Measured {
  peakRssMb: number;
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '') as ChildSpec;
  const open = (queue: string): ReturnType<typeof openSubject> => openSubject(spec.target, queue);
  const measured = await runScenario(open, `bench-${spec.scenario}-${process.pid}`, spec.scenario, spec.sizes);
  const result: ChildResult = { ...measured, peakRssMb: process.resourceUsage().maxRSS / 1024 };
  console.log(JSON.stringify(result));
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
