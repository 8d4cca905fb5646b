import { describe, expect, it } from 'vitest';
import {
  accountHoldFields,
  customerLifecycleFields,
  isOnHold,
  isProductActive,
  productInactiveReason,
  productLifecycleFields,
} from '#core/mapping/lifecycle.ts';
import { testConfig } from '#test/support/config.ts';

describe('accountHoldFields', () => {
  it('writes the hold member into D365_Hold_Status__c by default and blanks it when not on hold', () => {
    const config = testConfig();
    expect(accountHoldFields({ OnHoldStatus: 'All' }, config)).toEqual({ D365_Hold_Status__c: 'All' });
    expect(accountHoldFields({ OnHoldStatus: 'Invoice' }, config)).toEqual({
      D365_Hold_Status__c: 'Invoice',
    });
    expect(accountHoldFields({ OnHoldStatus: 'No' }, config)).toEqual({ D365_Hold_Status__c: null });
    expect(accountHoldFields({ OnHoldStatus: 'Never' }, config)).toEqual({ D365_Hold_Status__c: null });
    expect(accountHoldFields({}, config)).toEqual({ D365_Hold_Status__c: null });
  });

  it('maps members through configured values, e.g. onto a checkbox', () => {
    const config = testConfig({
      lifecycle: {
        customerHold: { field: 'On_Hold__c', values: { No: false, Never: false, All: true, Invoice: true } },
      },
    });
    expect(accountHoldFields({ OnHoldStatus: 'All' }, config)).toEqual({ On_Hold__c: true });
    expect(accountHoldFields({ OnHoldStatus: 'No' }, config)).toEqual({ On_Hold__c: false });
    // A member the values do not list carries its own name.
    expect(accountHoldFields({ OnHoldStatus: 'Payment' }, config)).toEqual({ On_Hold__c: 'Payment' });
  });

  it('sets nothing and reads no hold field when the field is null', () => {
    const config = testConfig({ lifecycle: { customerHold: { field: null } } });
    expect(accountHoldFields({ OnHoldStatus: 'All' }, config)).toEqual({});
    expect(customerLifecycleFields(config)).toEqual([]);
  });

  it('tells held customers from the others', () => {
    expect(isOnHold({ OnHoldStatus: 'Payment' })).toBe(true);
    expect(isOnHold({ OnHoldStatus: 'Never' })).toBe(false);
    expect(isOnHold({ OnHoldStatus: '' })).toBe(false);
  });
});

describe('isProductActive', () => {
  it('keeps every product active by default', () => {
    const config = testConfig();
    expect(
      isProductActive(
        { ProductLifecycleStateId: 'Obsolete', IsIntercompanySalesUsageBlocked: 'Yes' },
        config,
      ),
    ).toBe(true);
    expect(productLifecycleFields(config)).toEqual([]);
  });

  it('deactivates a product whose configured stop flag is Yes', () => {
    const config = testConfig({
      lifecycle: { products: { stoppedFlags: ['IsIntercompanySalesUsageBlocked'] } },
    });
    expect(isProductActive({ IsIntercompanySalesUsageBlocked: 'Yes' }, config)).toBe(false);
    expect(productInactiveReason({ IsIntercompanySalesUsageBlocked: 'Yes' }, config)).toBe(
      'IsIntercompanySalesUsageBlocked is Yes',
    );
    expect(isProductActive({ IsIntercompanySalesUsageBlocked: 'No' }, config)).toBe(true);
    expect(productLifecycleFields(config)).toEqual(['IsIntercompanySalesUsageBlocked']);
  });

  it('deactivates the lifecycle states the configuration lists, whatever their case', () => {
    const config = testConfig({ lifecycle: { products: { inactiveStates: ['Obsolete', 'EndOfLife'] } } });
    expect(isProductActive({ ProductLifecycleStateId: 'obsolete' }, config)).toBe(false);
    expect(productInactiveReason({ ProductLifecycleStateId: 'EndOfLife' }, config)).toBe(
      'lifecycle state EndOfLife',
    );
    expect(isProductActive({ ProductLifecycleStateId: 'Released' }, config)).toBe(true);
    expect(productLifecycleFields(config)).toEqual(['ProductLifecycleStateId']);
  });

  it('refuses a lifecycle configuration with an empty state', () => {
    expect(() => testConfig({ lifecycle: { products: { inactiveStates: [''] } } })).toThrow(/inactiveStates/);
  });
});
