// Turns the outcomes of one script on two sides into pass/fail with a readable message.
import { compareTranscripts, describeDifference } from './compare.js';
import type { Outcome } from './lanes.js';
import { normaliseTranscript } from './normalise.js';
import type { Script } from './script.js';

export interface Verdict {
  ok: boolean;
  message: string;
}

export function verdict(script: Script, reference: Outcome, subject: Outcome, labels: [string, string]): Verdict {
  const header = `script "${script.name}" (${script.ref})`;
  if (!reference.transcript) {
    return { ok: false, message: `${header}: the reference run (${labels[0]}) failed, so nothing was compared: ${reference.error}` };
  }
  if (!subject.transcript) {
    return { ok: false, message: `${header}: ${labels[1]} run failed: ${subject.error}` };
  }
  const ref = normaliseTranscript(reference.transcript, script);
  const sub = normaliseTranscript(subject.transcript, script);
  const c = compareTranscripts(ref, sub);
  if (c.equal) return { ok: true, message: `${header}: same` };
  return {
    ok: false,
    message:
      `${header}: ${labels[1]} differs from ${labels[0]} in ${c.differingSteps.length} step(s)` +
      ` ('-' = ${labels[0]}, '+' = ${labels[1]}; indexes as @+N from the script's start index)\n\n` +
      describeDifference(c, ref, sub),
  };
}
