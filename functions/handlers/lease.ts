/**
 * A lease lock in the state table, for work that must not overlap across Lambda containers (the
 * backfill: a slow run must not meet the next scheduled one). The lease is a checkpoint item
 * (`lock:<name>`) written with the state store's optimistic concurrency: a holder and an expiry.
 * A run that dies without releasing it (timeout, crash) blocks the next runs only until its expiry.
 */
import { ConditionFailedError, type StateStore } from '#core/ports/state-store.ts';

export interface Lease {
  /** The checkpoint name holding the lease. */
  readonly name: string;
  /** Epoch ms when the lease lapses unless released earlier. */
  readonly until: number;
  /** Ends the lease now; a lease already taken over after its expiry is left alone. */
  release(): Promise<void>;
}

interface Held {
  readonly holder: string;
  readonly until: number;
}

function readHeld(value: string): Held | undefined {
  try {
    const parsed = JSON.parse(value) as Partial<Held>;
    if (typeof parsed.holder === 'string' && typeof parsed.until === 'number') {
      return { holder: parsed.holder, until: parsed.until };
    }
  } catch {
    // An unreadable lease is treated as lapsed.
  }
  return undefined;
}

/** The checkpoint name of a lease. */
export const leaseName = (name: string) => `lock:${name}`;

/**
 * Takes the lease `name` for `holder` for `durationMs`, or answers undefined when another holder
 * has it and it has not lapsed (or a concurrent taker won the conditional write).
 */
export async function acquireLease(
  state: StateStore,
  options: {
    readonly name: string;
    readonly holder: string;
    readonly durationMs: number;
    readonly now: () => number;
  },
): Promise<Lease | undefined> {
  const name = leaseName(options.name);
  const current = await state.getCheckpoint(name);
  const held = current ? readHeld(current.value) : undefined;
  const at = options.now();
  if (held && held.until > at && held.holder !== options.holder) return undefined;
  const until = at + options.durationMs;
  let mine: { readonly version: number };
  try {
    mine = await state.putCheckpoint(name, JSON.stringify({ holder: options.holder, until }), {
      expectedVersion: current?.version ?? 0,
    });
  } catch (error) {
    if (error instanceof ConditionFailedError) return undefined;
    throw error;
  }
  return {
    name,
    until,
    async release() {
      try {
        await state.putCheckpoint(name, JSON.stringify({ holder: options.holder, until: 0 }), {
          expectedVersion: mine.version,
        });
      } catch (error) {
        if (!(error instanceof ConditionFailedError)) throw error;
      }
    },
  };
}
