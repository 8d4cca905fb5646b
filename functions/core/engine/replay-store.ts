/**
 * The ChangeStream port's replay-id store on the StateStore: one checkpoint per topic holding the
 * opaque replay-id bytes (base64), written only after the batch it covers was enqueued.
 */

import type { ReplayStore } from '#core/ports/change-stream.ts';
import type { StateStore } from '#core/ports/state-store.ts';

export const cdcCheckpointName = (topic: string): string => `cdc:${topic}`;

export function createStateReplayStore(state: StateStore): ReplayStore {
  return {
    async load(topic) {
      const checkpoint = await state.getCheckpoint(cdcCheckpointName(topic));
      return checkpoint ? new Uint8Array(Buffer.from(checkpoint.value, 'base64')) : undefined;
    },
    async save(topic, replayId) {
      await state.putCheckpoint(cdcCheckpointName(topic), Buffer.from(replayId).toString('base64'));
    },
  };
}
