import { describe, expect, it } from 'vitest';
import { pubSubFaults } from '#sandbox/salesforce/pubsub/faults.ts';
import { createFaultInjector } from '#sandbox/shared/faults.ts';

describe('Pub/Sub sandbox faults', () => {
  it('leaves rules meant for REST untouched when no Pub/Sub rule applies', () => {
    const faults = createFaultInjector({ rules: [{ kind: 'error', count: 1 }] });
    expect(pubSubFaults(faults, 'pubsub.subscribe')).toEqual([]);
    expect(faults.decide('rest.query').map((d) => d.rule.kind)).toEqual(['error']);
  });

  it('fires stream-drop and token-expiry for matching operations only', () => {
    const faults = createFaultInjector({
      rules: [
        { kind: 'stream-drop', match: 'pubsub.subscribe', count: 1 },
        { kind: 'token-expiry', match: 'pubsub.getTopic', count: 1 },
      ],
    });
    expect(pubSubFaults(faults, 'pubsub.getSchema')).toEqual([]);
    expect(pubSubFaults(faults, 'pubsub.subscribe')).toEqual(['stream-drop']);
    expect(pubSubFaults(faults, 'pubsub.subscribe')).toEqual([]);
    expect(pubSubFaults(faults, 'pubsub.getTopic')).toEqual(['token-expiry']);
    expect(pubSubFaults(undefined, 'pubsub.subscribe')).toEqual([]);
  });
});
