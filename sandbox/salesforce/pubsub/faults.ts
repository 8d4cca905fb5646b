/**
 * The fault kinds the Pub/Sub server acts on, asked of the shared injector only when the plan has
 * such a rule for the operation: `decide()` counts down every matching rule, so asking for every
 * delivery would use up REST rules written with the default `*` match.
 */
import type { FaultInjector, FaultKind } from '#sandbox/shared/faults.ts';

const PUBSUB_KINDS: readonly FaultKind[] = ['stream-drop', 'token-expiry'];

function matches(glob: string, operation: string): boolean {
  const escaped = glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${escaped}$`).test(operation);
}

/** The Pub/Sub fault kinds that fire for `operation` (e.g. `pubsub.subscribe`). */
export function pubSubFaults(faults: FaultInjector | undefined, operation: string): FaultKind[] {
  if (!faults) return [];
  const relevant = faults.plan.rules.some(
    (rule) => PUBSUB_KINDS.includes(rule.kind) && matches(rule.match ?? '*', operation),
  );
  if (!relevant) return [];
  return faults
    .decide(operation)
    .map((d) => d.rule.kind)
    .filter((kind) => PUBSUB_KINDS.includes(kind));
}
