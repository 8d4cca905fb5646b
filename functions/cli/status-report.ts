/**
 * What `status` reads from a state store and how it prints it, shared by the local state (SQLite)
 * and a deployed stack's state table (DynamoDB): checkpoints and their age, the records still
 * parked with their reasons, the latest failures. Only indexed reads: the checkpoints' partition,
 * the audit trail by outcome (at most 5 failed, 5 parked, and the parked entries of the last 30
 * days, 1,000 at most), and one single-item read by record per parked record until
 * {@link PARKED_SHOWN} still-parked ones are found (see listParked in core/engine/parked.ts).
 */
import { listParked, type ParkedRecord } from '#core/engine/parked.ts';
import type { AuditEntry, Checkpoint, StateStore } from '#core/ports/state-store.ts';

/** The most parked records `status` lists; the count reads `100+` when there may be more. */
export const PARKED_SHOWN = 100;
/** How many of the latest failed or parked entries `status` shows. */
const FAILURES_SHOWN = 5;

/** The state part of `status`, as `--json` prints it (the same keys for the local state and a stack). */
export interface StateReport {
  readonly checkpoints: readonly Checkpoint[];
  readonly parked: readonly ParkedRecord[];
  readonly failures: readonly AuditEntry[];
}

/** Reads checkpoints, the records still parked and the latest failures from `state`. */
export async function readStateReport(state: StateStore, now: number): Promise<StateReport> {
  const [checkpoints, failed, parkedEntries, parked] = await Promise.all([
    state.listCheckpoints(),
    state.queryAudit({ outcome: 'failed', limit: FAILURES_SHOWN }),
    state.queryAudit({ outcome: 'parked', limit: FAILURES_SHOWN }),
    // Records whose latest outcome is parked: they wait for a person or for a missing record.
    listParked(state, { now, limit: PARKED_SHOWN }),
  ]);
  const failures = [...failed, ...parkedEntries].sort((a, b) => b.at - a.at).slice(0, FAILURES_SHOWN);
  return { checkpoints, parked, failures };
}

/** A duration as `status` prints it: `42s`, `5m`, `3h`, `2d`. */
export function age(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172_800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86_400)}d`;
}

/** The `Checkpoints:` section. */
export function checkpointLines(checkpoints: readonly Checkpoint[], now: number): string[] {
  const lines = ['Checkpoints:'];
  for (const c of checkpoints)
    lines.push(`  ${c.name.padEnd(48)} ${c.value.slice(0, 32).padEnd(32)} ${age(now - c.updatedAt)} ago`);
  if (checkpoints.length === 0) lines.push('  none yet');
  return lines;
}

/**
 * The `Parked (n):` section. `target` follows `replay` in the hint that sends parked work through
 * again: empty for the local state, ` --stack <name>` for a stack.
 */
export function parkedLines(parked: readonly ParkedRecord[], target = ''): string[] {
  const lines = [`Parked (${parked.length}${parked.length === PARKED_SHOWN ? '+' : ''}):`];
  for (const p of parked) {
    const waits = p.waitsFor.length > 0 ? `; retried when ${p.waitsFor.join(', ')} arrives` : '';
    lines.push(`  ${new Date(p.at).toISOString()} ${p.recordKey} (audit ${p.auditId}): ${p.reason}${waits}`);
  }
  if (parked.length === 0) lines.push('  none');
  else
    lines.push(
      `  Fix the cause, then \`ml-connector replay${target} <audit id>\` (or \`replay${target} --failed\`).`,
    );
  return lines;
}

/** The `Latest failures:` section. */
export function failureLines(failures: readonly AuditEntry[]): string[] {
  const lines = ['Latest failures:'];
  for (const f of failures)
    lines.push(
      `  ${new Date(f.at).toISOString()} ${f.outcome} ${f.recordKey} (audit ${f.auditId}): ${f.error ?? ''}`,
    );
  if (failures.length === 0) lines.push('  none');
  return lines;
}
