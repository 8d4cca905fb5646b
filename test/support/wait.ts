/**
 * The one way tests wait: on the real event, never for a fixed time. `until` polls a probe of
 * the real state (a query, a queue depth, a process's output) until it holds, and fails with what
 * it waited for when its time-out passes; `eventOf` resolves on an emitter's event.
 */

import type { EventEmitter } from 'node:events';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';

export interface WaitOptions {
  /** How long to wait before failing, ms. Default 30 000. */
  readonly timeoutMs?: number;
  /** How often the probe is asked, ms. Default 50. */
  readonly intervalMs?: number;
  /** Appended to the time-out error (e.g. a child process's output so far). */
  readonly detail?: () => string;
}

type Probed<T> = T | undefined | null | false;

/**
 * Resolves with the probe's first value that is not `undefined`, `null` or `false` (so a boolean
 * probe resolves with `true`); rejects with `timed out waiting for <what>` after the time-out.
 * A probe that throws fails the wait at once.
 */
export async function until<T>(
  what: string,
  probe: () => Probed<T> | Promise<Probed<T>>,
  options: WaitOptions | number = {},
): Promise<T> {
  const {
    timeoutMs = 30_000,
    intervalMs = 50,
    detail,
  } = typeof options === 'number' ? { timeoutMs: options } : options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() > deadline) {
      const more = detail?.();
      throw new Error(`timed out waiting for ${what}${more ? `:\n${more}` : ''}`);
    }
    await sleep(intervalMs);
  }
}

/** Resolves with the arguments of `emitter`'s next `event`; rejects after `timeoutMs`. */
export async function eventOf(
  emitter: EventEmitter,
  event: string,
  what: string,
  timeoutMs = 30_000,
): Promise<unknown[]> {
  try {
    return await once(emitter, event, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    if (error instanceof Error && error.name === 'AbortError')
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    throw error;
  }
}
