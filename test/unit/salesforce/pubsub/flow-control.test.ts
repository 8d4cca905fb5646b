import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '#base/errors.ts';
import { createFlowControl, MAX_EVENTS_PER_REQUEST } from '#salesforce/pubsub/flow-control.ts';

describe('flow control', () => {
  it('never has more than 100 events outstanding whatever the server delivers', () => {
    // Steps: the server delivers some of what is pending, or the handler acknowledges some.
    const step = fc.oneof(
      fc.record({
        kind: fc.constant('deliver' as const),
        fraction: fc.double({ min: 0, max: 1, noNaN: true }),
      }),
      fc.record({ kind: fc.constant('ack' as const), fraction: fc.double({ min: 0, max: 1, noNaN: true }) }),
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100 }),
        fc.array(step, { maxLength: 200 }),
        (batchSize, steps) => {
          const flow = createFlowControl(batchSize);
          const request = () => {
            const n = flow.nextRequest();
            if (n > 0) flow.requested(n);
          };
          request();
          for (const s of steps) {
            if (s.kind === 'deliver') {
              const n = Math.round(flow.pending * s.fraction);
              flow.received(n, flow.pending - n);
            } else {
              flow.acknowledged(Math.round(flow.unacknowledged * s.fraction));
            }
            request();
            expect(flow.pending + flow.unacknowledged).toBeLessThanOrEqual(MAX_EVENTS_PER_REQUEST);
            expect(flow.pending + flow.unacknowledged).toBeLessThanOrEqual(batchSize);
          }
        },
      ),
    );
  });

  it('requests the next batch only once everything received has been acknowledged', () => {
    const flow = createFlowControl(100);
    expect(flow.nextRequest()).toBe(100);
    flow.requested(100);
    expect(flow.nextRequest()).toBe(0);
    flow.received(40, 60);
    expect(flow.nextRequest()).toBe(0);
    flow.acknowledged(40);
    expect(flow.nextRequest()).toBe(0); // 60 still pending on the server
    flow.received(60, 0);
    expect(flow.nextRequest()).toBe(0); // received, not yet handled
    flow.acknowledged(60);
    expect(flow.nextRequest()).toBe(100);
  });

  it('takes the server pending count as authoritative', () => {
    const flow = createFlowControl(50);
    flow.requested(50);
    flow.received(0, 50); // keepalive
    expect(flow.pending).toBe(50);
    flow.received(10);
    expect(flow.pending).toBe(40);
  });

  it('refuses batch sizes outside 1..100 and requests that would exceed 100', () => {
    expect(() => createFlowControl(0)).toThrow(ValidationError);
    expect(() => createFlowControl(101)).toThrow(ValidationError);
    expect(() => createFlowControl(1.5)).toThrow(ValidationError);
    const flow = createFlowControl(100);
    flow.requested(100);
    expect(() => flow.requested(1)).toThrow(ValidationError);
  });
});
