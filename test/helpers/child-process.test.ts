// spawnLogged (test/helpers/child-process.ts): `exited` resolves only once the output is complete.
import { describe, expect, it } from 'vitest';
import { spawnLogged } from './child-process.js';

describe('spawnLogged', () => {
  it("has the child's last output once `exited` resolves, though the process exited before its pipes closed", async () => {
    // The process exits at once; a grandchild that holds its stdout writes 300 ms later (the
    // extreme of a loaded machine, where 'exit' is handled before the last output is read).
    const script = [
      "const { spawn } = require('node:child_process');",
      "spawn(process.execPath, ['-e', 'setTimeout(() => process.stdout.write(\"late line\\\\n\"), 300)'], { stdio: ['ignore', 'inherit', 'inherit'] }).unref();",
      "process.stdout.write('first line\\n');",
    ].join('\n');
    const p = spawnLogged(process.execPath, ['-e', script]);
    expect(await p.exited).toBe('0');
    expect(p.logTail()).toBe('first line\nlate line\n');
  }, 20_000);
});
