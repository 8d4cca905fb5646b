import { describe, expect, it } from 'vitest';
import {
  formatNumber,
  NumberSequenceRefusal,
  NumberSequences,
  parseNumber,
  type SequenceSeed,
  validateSequenceSettings,
} from '#sandbox/dynamics/number-sequences.ts';

const seed: SequenceSeed = {
  defaultFormat: (kind, company) =>
    kind === 'salesOrders' ? 'SO-######' : `${company.slice(0, 2).toUpperCase()}-######`,
  initialNext: () => 42,
};

const refusal = (fn: () => unknown): string => {
  try {
    fn();
  } catch (error) {
    if (error instanceof NumberSequenceRefusal) return error.infolog.join(' ');
    throw error;
  }
  throw new Error('expected a refusal');
};

describe('number sequence formats', () => {
  it('formats and parses the numeric segment between constant segments', () => {
    expect(formatNumber('US-######', 42)).toBe('US-000042');
    expect(formatNumber('C####-X', 7)).toBe('C0007-X');
    expect(parseNumber('US-######', 'us-000042')).toBe(42);
    expect(parseNumber('C####-X', 'C0007-X')).toBe(7);
    expect(parseNumber('US-######', 'US-42')).toBeUndefined();
    expect(parseNumber('US-######', 'SF-000042')).toBeUndefined();
    expect(parseNumber('US-######', 'US-00004A')).toBeUndefined();
  });

  it('refuses settings it does not know or cannot use', () => {
    expect(() => validateSequenceSettings({ manual: 'yes' })).toThrow(TypeError);
    expect(() => validateSequenceSettings({ format: 'NO-DIGITS' })).toThrow(RangeError);
    expect(() => validateSequenceSettings({ format: 'A-##-##' })).toThrow(RangeError);
    expect(() => validateSequenceSettings({ allowEverything: true })).toThrow(/unknown/);
  });
});

describe('NumberSequences', () => {
  it('assigns Next for an omitted number and moves on, without gaps when continuous', () => {
    const seqs = new NumberSequences(seed, { customerAccounts: { continuous: true } });
    expect(seqs.resolve('customerAccounts', 'usmf', undefined, 'Customer account')).toBe('US-000042');
    expect(seqs.resolve('customerAccounts', 'usmf', '', 'Customer account')).toBe('US-000043');
    expect(seqs.state('customerAccounts', 'usmf').next).toBe(44);
    expect(seqs.state('customerAccounts', 'demf').next).toBe(42);
  });

  it("refuses a caller's number unless the sequence is Manual or allows that direction", () => {
    const seqs = new NumberSequences(seed);
    expect(refusal(() => seqs.resolve('customerAccounts', 'usmf', 'US-000100', 'Customer account'))).toBe(
      "Field Customer account doesn't allow editing. Invalid specification of Customer account doesn't allow change to a higher number. Validations failed.",
    );
    expect(refusal(() => seqs.resolve('customerAccounts', 'usmf', 'US-000042', 'Customer account'))).toMatch(
      /higher number/,
    );
    seqs.configure('customerAccounts', 'usmf', { toALowerNumber: true });
    expect(seqs.resolve('customerAccounts', 'usmf', 'US-000005', 'Customer account')).toBe('US-000005');
    expect(refusal(() => seqs.resolve('customerAccounts', 'usmf', 'US-000100', 'Customer account'))).toMatch(
      /higher number/,
    );
    seqs.configure('customerAccounts', undefined, { manual: true });
    expect(seqs.resolve('customerAccounts', 'gbsi', 'anything at all', 'Customer account')).toBe(
      'anything at all',
    );
    expect(refusal(() => seqs.resolve('customerAccounts', 'gbsi', undefined, 'Customer account'))).toBe(
      "Field 'Customer account' must be filled in.",
    );
  });

  it('holds numbers to Smallest and Largest and stops when the sequence is exhausted', () => {
    const seqs = new NumberSequences(seed, {
      salesOrders: {
        byCompany: { usmf: { toAHigherNumber: true, toALowerNumber: true, smallest: 10, largest: 43 } },
      },
    });
    expect(refusal(() => seqs.resolve('salesOrders', 'usmf', 'SO-000050', 'Sales order'))).toBe(
      "Field Sales order doesn't allow editing. Highest number allowed is 43. Validations failed.",
    );
    expect(refusal(() => seqs.resolve('salesOrders', 'usmf', 'SO-000001', 'Sales order'))).toBe(
      'Incoming Sales order < Lowest number allowed is 10. Validations failed.',
    );
    seqs.configure('salesOrders', 'usmf', { continuous: true });
    expect(seqs.resolve('salesOrders', 'usmf', undefined, 'Sales order')).toBe('SO-000042');
    expect(seqs.resolve('salesOrders', 'usmf', undefined, 'Sales order')).toBe('SO-000043');
    expect(refusal(() => seqs.resolve('salesOrders', 'usmf', undefined, 'Sales order'))).toBe(
      'Number sequence SalesOrd_USMF has been exceeded. Number selection is canceled.',
    );
  });
});
