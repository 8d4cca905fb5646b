#!/usr/bin/env -S node --max-semi-space-size=8 --heap-growing-percent=20
/**
 * Entry point of the `ml-connector` command; the commands live in functions/cli/. Run with a small
 * V8 young generation (`--max-semi-space-size=8`) and an old generation that grows by 20% past
 * what survived the last full collection (`--heap-growing-percent=20`), as `npm start` does: the
 * engine allocates in page-sized bursts, and V8's defaults let RSS grow far past what it keeps
 * alive (docs/BENCHMARKS.md: 1,000,000 + 1,000,000 records loaded at a peak of 227 MB; 312 MB and
 * rising with the semi-space cap alone; event-to-upsert latency unchanged).
 */
import { main } from '../functions/cli/main.ts';

const stop = new AbortController();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stop.signal.aborted) process.exit(130);
    stop.abort(new Error(`received ${signal}`));
  });
}

process.exitCode = await main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  stopSignal: stop.signal,
});
// Asked to stop, the command has finished: whatever it abandoned (a request in a retry back-off,
// a socket closing) may not hold the process up for more than a few seconds.
if (stop.signal.aborted) setTimeout(() => process.exit(), 2500).unref();
