import { describe, expect, it } from 'vitest';
import { sameValue } from '#core/flows/drift.ts';

describe('sameValue', () => {
  it('treats null, empty and absent as one value', () => {
    expect(sameValue(null, '')).toBe(true);
    expect(sameValue(undefined, null)).toBe(true);
    expect(sameValue('', 'x')).toBe(false);
    expect(sameValue(null, false)).toBe(false);
  });

  it('compares numbers by value and booleans by meaning', () => {
    expect(sameValue(1200, '1200.0')).toBe(true);
    expect(sameValue(12.5, 12.51)).toBe(false);
    expect(sameValue(true, 'true')).toBe(true);
    expect(sameValue(false, true)).toBe(false);
  });

  it('compares text exactly, so an edit by a rep is seen', () => {
    expect(sameValue('Contoso Ltd', 'Contoso Ltd')).toBe(true);
    expect(sameValue('Contoso Ltd', 'Contoso Ltd.')).toBe(false);
  });
});
