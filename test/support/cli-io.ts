/**
 * The input/output an in-process `main(args, io)` run writes to: stdout and stderr into one
 * captured text, an empty environment, a stop signal that never fires.
 */
import { Writable } from 'node:stream';
import type { CliIo } from '#cli/command.ts';

/** A `CliIo` whose stdout and stderr both go to `out()`. */
export function captureIo(): { io: CliIo; out: () => string } {
  let text = '';
  const sink = new Writable({
    write(chunk, _encoding, done) {
      text += String(chunk);
      done();
    },
  });
  return {
    io: { stdout: sink, stderr: sink, env: {}, stopSignal: new AbortController().signal },
    out: () => text,
  };
}
