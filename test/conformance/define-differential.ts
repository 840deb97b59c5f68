// Vitest wiring shared by the differential suites: the scripts run in parallel lanes on both sides
// (started in beforeAll, stopped in afterAll), and each script is one test whose normalised
// responses must be identical on the reference and the subject.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ParallelRun, type Side } from './lanes.js';
import type { Script } from './script.js';
import { verdict } from './verdict.js';

export interface DifferentialSuite {
  title: string;
  scripts: readonly Script[];
  reference: Side;
  subject: Side;
  lanes: number;
  /** Per-script test timeout. */
  timeoutMs: number;
  /** More tests in the same describe block, registered before the scripts'. */
  extra?: () => void;
}

export function defineDifferential(o: DifferentialSuite): void {
  let run: ParallelRun;

  beforeAll(() => {
    run = new ParallelRun(o.scripts, [o.reference, o.subject], o.lanes);
  });

  afterAll(async () => {
    await run?.stop();
  }, 180_000);

  describe(o.title, () => {
    o.extra?.();
    for (const script of o.scripts) {
      it(`${script.ref}: ${script.name}`, async () => {
        const [ref, sub] = await run.result(script.name);
        const v = verdict(script, ref ?? {}, sub ?? {}, [o.reference.label, o.subject.label]);
        if (!v.ok) expect.fail(v.message);
      }, o.timeoutMs);
    }
  });
}
