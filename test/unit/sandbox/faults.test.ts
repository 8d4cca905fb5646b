import { describe, expect, it } from 'vitest';
import { createFaultInjector, validateFaultPlan } from '#sandbox/shared/faults.ts';

describe('createFaultInjector', () => {
  it('fires a counted rule exactly count times for matching operations', () => {
    const faults = createFaultInjector({ rules: [{ kind: 'throttle', match: 'odata.*', count: 2 }] });
    expect(faults.decide('rest.query')).toEqual([]);
    expect(faults.decide('odata.read')).toHaveLength(1);
    expect(faults.decide('odata.create')).toHaveLength(1);
    expect(faults.decide('odata.read')).toEqual([]);
    expect(faults.fired()).toEqual({ throttle: 2 });
  });

  it('reproduces the same decisions for the same seed', () => {
    const plan = { seed: 42, rules: [{ kind: 'error' as const, probability: 0.3 }] };
    const run = () => {
      const f = createFaultInjector(plan);
      return Array.from({ length: 200 }, () => f.decide('x').length);
    };
    const first = run();
    expect(run()).toEqual(first);
    const hits = first.reduce((a, b) => a + b, 0);
    expect(hits).toBeGreaterThan(30);
    expect(hits).toBeLessThan(90);
  });

  it('leaves rules of other kinds untouched when asked for some kinds only', () => {
    const faults = createFaultInjector({
      rules: [
        { kind: 'stream-drop', count: 1 },
        { kind: 'throttle', count: 1 },
      ],
    });
    expect(faults.decide('rest.query', ['throttle', 'error']).map((d) => d.rule.kind)).toEqual(['throttle']);
    expect(faults.decide('pubsub.subscribe', ['stream-drop']).map((d) => d.rule.kind)).toEqual([
      'stream-drop',
    ]);
  });

  it('rejects a plan with an unknown fault kind', () => {
    expect(() => validateFaultPlan({ rules: [{ kind: 'meteor' }] })).toThrow(/kind must be one of/);
  });
});
