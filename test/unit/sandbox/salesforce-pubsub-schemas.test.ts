import { describe, expect, it } from 'vitest';
import { buildOrgSchema, DEFAULT_CUSTOM_FIELDS } from '#sandbox/salesforce/objects.ts';
import { buildChangeEventSchemas, changeEventSchema } from '#sandbox/salesforce/pubsub/schemas.ts';

describe('sandbox change-event schemas', () => {
  it('builds one schema per CDC-enabled object with stable ids', () => {
    const a = buildChangeEventSchemas(buildOrgSchema());
    const b = buildChangeEventSchemas(buildOrgSchema());
    expect([...a.keys()].sort()).toEqual(['Account', 'Opportunity', 'Order', 'Product2']);
    for (const [name, schema] of a) {
      expect(schema.id).toBe(b.get(name)?.id);
      expect(schema.id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    }
  });

  it('changes the id of an object whose fields change, and only that one', () => {
    const before = buildChangeEventSchemas(buildOrgSchema());
    const after = buildChangeEventSchemas(
      buildOrgSchema({
        customFields: {
          ...DEFAULT_CUSTOM_FIELDS,
          Account: [
            ...DEFAULT_CUSTOM_FIELDS.Account,
            {
              name: 'Tier__c',
              type: 'picklist',
              label: 'Tier',
              nillable: true,
              createable: true,
              updateable: true,
            },
          ],
        },
      }),
    );
    expect(after.get('Account')?.id).not.toBe(before.get('Account')?.id);
    expect(after.get('Order')?.id).toBe(before.get('Order')?.id);
  });

  it('declares the Address record once and refers to it by name afterwards', () => {
    const account = buildOrgSchema().get('Account');
    if (!account) throw new Error('no Account');
    const schema = changeEventSchema(account) as { fields: { name: string; type: unknown }[] };
    const billing = schema.fields.find((f) => f.name === 'BillingAddress');
    const shipping = schema.fields.find((f) => f.name === 'ShippingAddress');
    expect(billing?.type).toEqual([
      'null',
      expect.objectContaining({
        name: 'Address',
        fields: ['Street', 'City', 'State', 'PostalCode', 'Country', 'StateCode', 'CountryCode'].map((name) =>
          expect.objectContaining({ name, type: ['null', 'string'], default: null }),
        ),
      }),
    ]);
    expect(shipping?.type).toEqual(['null', 'Address']);
    expect(schema.fields.map((f) => f.name)).not.toContain('BillingCity');
    expect(schema.fields.map((f) => f.name)).not.toContain('SystemModstamp');
  });
});
