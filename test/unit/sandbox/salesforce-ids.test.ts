import { describe, expect, it } from 'vitest';
import { createIdFactory, idSuffix, normalizeId } from '#sandbox/salesforce/ids.ts';

describe('Salesforce ids', () => {
  it('computes the case-insensitivity suffix of known ids', () => {
    expect(idSuffix('001A0000006Vm9r')).toBe('IAC');
    expect(idSuffix('00D000000000062')).toBe('EAA');
  });

  it('mints distinct 18-character ids with the key prefix and a valid suffix', () => {
    const ids = createIdFactory();
    const a = ids.next('001');
    const b = ids.next('001');
    expect(a).toMatch(/^001[A-Za-z0-9]{15}$/);
    expect(a).not.toBe(b);
    expect(normalizeId(a)).toBe(a);
    expect(normalizeId(a.slice(0, 15))).toBe(a);
  });

  it('rejects malformed ids and wrong suffixes', () => {
    expect(normalizeId('not-an-id')).toBeUndefined();
    expect(normalizeId('001A0000006Vm9rZZZ')).toBeUndefined();
  });
});
