import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type BitmapField, decodeFieldBitmaps, encodeFieldBitmaps } from '#salesforce/pubsub/bitmap.ts';
import { ChangeEventFormatError } from '#salesforce/pubsub/errors.ts';
import { buildOrgSchema } from '#sandbox/salesforce/objects.ts';
import { buildChangeEventSchemas } from '#sandbox/salesforce/pubsub/schemas.ts';

const account = buildChangeEventSchemas(buildOrgSchema()).get('Account');
if (!account) throw new Error('no Account schema');

/** An arbitrary schema layout: 1..80 top-level fields, some of them compounds with 1..12 children. */
const layoutArb = fc
  .array(fc.option(fc.integer({ min: 1, max: 12 }), { nil: undefined }), { minLength: 1, maxLength: 80 })
  .map((shape): BitmapField[] =>
    shape.map((children, i) =>
      children === undefined
        ? { name: `F${i}` }
        : { name: `C${i}`, children: Array.from({ length: children }, (_, j) => `K${j}`) },
    ),
  );

/** A layout and a subset of its field names (top-level and `Compound.Child`). */
const namesArb = layoutArb.chain((layout) => {
  const all = layout.flatMap((f) => [f.name, ...(f.children ?? []).map((c) => `${f.name}.${c}`)]);
  return fc.subarray(all).map((names) => ({ layout, names }));
});

describe('field bitmaps', () => {
  it('round-trips any set of top-level and compound child fields, top-level ones first', () => {
    fc.assert(
      fc.property(namesArb, ({ layout, names }) => {
        const { bitmaps, unknown } = encodeFieldBitmaps(names, layout);
        expect(unknown).toEqual([]);
        const decoded = decodeFieldBitmaps(bitmaps, layout);
        const topLevel = names.filter((n) => !n.includes('.'));
        expect(decoded.slice(0, topLevel.length)).toEqual(topLevel);
        expect([...decoded].sort()).toEqual([...names].sort());
      }),
      { numRuns: 500 },
    );
  });

  it('emits uppercase byte-padded hex with the top-level bitmap first', () => {
    fc.assert(
      fc.property(namesArb, ({ layout, names }) => {
        const { bitmaps } = encodeFieldBitmaps(names, layout);
        if (names.length === 0) return void expect(bitmaps).toEqual([]);
        expect(bitmaps[0]).toMatch(/^0x([0-9A-F]{2})+$/);
        for (const child of bitmaps.slice(1)) expect(child).toMatch(/^\d+-0x([0-9A-F]{2})+$/);
      }),
    );
  });

  it('names BillingAddress.City through the compound in the Account change event', () => {
    const { bitmaps } = encodeFieldBitmaps(['Name', 'BillingAddress.City'], account.layout);
    const billing = account.layout.findIndex((f) => f.name === 'BillingAddress');
    const name = account.layout.findIndex((f) => f.name === 'Name');
    expect(bitmaps).toEqual([
      `0x${(1n << BigInt(name)).toString(16).toUpperCase().padStart(2, '0')}`,
      `${billing}-0x02`,
    ]);
    expect(decodeFieldBitmaps(bitmaps, account.layout)).toEqual(['Name', 'BillingAddress.City']);
  });

  it('decodes a documented-style bitmap and a child bitmap without a top-level one', () => {
    const layout: BitmapField[] = Array.from({ length: 32 }, (_, i) =>
      i === 4
        ? { name: 'F4', children: ['Street', 'City', 'State', 'PostalCode', 'Country'] }
        : { name: `F${i}` },
    );
    expect(decodeFieldBitmaps(['0x650004E0', '4-0x10'], layout)).toEqual([
      'F5',
      'F6',
      'F7',
      'F10',
      'F24',
      'F26',
      'F29',
      'F30',
      'F4.Country',
    ]);
    expect(decodeFieldBitmaps(['4-0x02'], layout)).toEqual(['F4.City']);
  });

  it('reports names the schema does not have and rejects bits beyond it', () => {
    expect(encodeFieldBitmaps(['Nope', 'BillingAddress.Nope'], account.layout).unknown).toEqual([
      'Nope',
      'BillingAddress.Nope',
    ]);
    expect(() => decodeFieldBitmaps(['0x0100'], [{ name: 'A' }])).toThrow(ChangeEventFormatError);
    expect(() => decodeFieldBitmaps(['0-0x01'], [{ name: 'A' }])).toThrow(ChangeEventFormatError);
  });
});
