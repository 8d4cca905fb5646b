/**
 * A StateStore that keeps the audit entries appended through it, so the code around a worker
 * batch knows what the batch parked (the RecordsParked metric) and what succeeded (parked work
 * waiting for it is retried, parked.ts). Apart from the audit, it is the store it wraps.
 */
import type { AuditEntry, NewAuditEntry, StateStore } from '#core/ports/state-store.ts';

/** What a batch appended to the audit trail, by outcome. */
export interface AuditWatch {
  /** The state store to give the workers: every append also lands in the watch. */
  readonly state: StateStore;
  /** The entries appended since the last call, and forgets them. */
  take(): AuditEntry[];
}

/** Wraps `state` so the entries appended through it are kept for {@link AuditWatch.take}. */
export function watchAudit(state: StateStore): AuditWatch {
  let appended: AuditEntry[] = [];
  return {
    state: {
      // The adapters are plain objects of closures (no `this`), so their methods copy as they are.
      ...state,
      async appendAudit(entry: NewAuditEntry) {
        const full = await state.appendAudit(entry);
        appended.push(full);
        return full;
      },
      async appendAudits(entries: readonly NewAuditEntry[]) {
        const full = await state.appendAudits(entries);
        appended.push(...full);
        return full;
      },
    },
    take() {
      const taken = appended;
      appended = [];
      return taken;
    },
  };
}

/** Parked entries per flow among `entries` (for the RecordsParked metric). */
export function parkedByFlow(entries: readonly AuditEntry[]): Map<string, number> {
  const byFlow = new Map<string, number>();
  for (const e of entries) if (e.outcome === 'parked') byFlow.set(e.flow, (byFlow.get(e.flow) ?? 0) + 1);
  return byFlow;
}
