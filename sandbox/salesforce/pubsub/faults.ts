/** The faults the Pub/Sub server acts on: only stream drops and token expiry are asked for and counted down. */
import { type FaultInjector, type FaultKind, STREAM_FAULT_KINDS } from '#sandbox/shared/faults.ts';

/** The Pub/Sub fault kinds that fire for `operation` (e.g. `pubsub.subscribe`). */
export function pubSubFaults(faults: FaultInjector | undefined, operation: string): FaultKind[] {
  return faults ? faults.decide(operation, STREAM_FAULT_KINDS).map((d) => d.rule.kind) : [];
}
