/**
 * The sandbox clock: wall time plus an offset that the control surface can advance, so token
 * expiry, retention windows and timestamps can be tested without waiting.
 */
export interface SandboxClock {
  /** Current sandbox time in epoch milliseconds. */
  now(): number;
  /** Moves the sandbox clock forward by `ms` (never backwards). */
  advance(ms: number): void;
  /** How far the clock has been advanced, in ms. */
  readonly offsetMs: number;
}

export function createSandboxClock(base: () => number = Date.now): SandboxClock {
  let offset = 0;
  return {
    now: () => base() + offset,
    advance(ms: number) {
      if (!Number.isFinite(ms) || ms < 0)
        throw new RangeError(`advance needs a non-negative number of ms, got ${ms}`);
      offset += ms;
    },
    get offsetMs() {
      return offset;
    },
  };
}
