import { describe, expect, it } from 'vitest';
import {
  type DynamicsLine,
  isClosedStatus,
  isSourceLineId,
  linesHash,
  planIsEmpty,
  planLineChanges,
} from '#core/flows/sales-order-lines.ts';
import type { SourceLine } from '#core/mapping/sales-orders.ts';

const line = (n: number, itemNumber: string, quantity: number, unitPrice?: number): SourceLine => ({
  id: `00k00000000000${n}AAA`,
  lineNumber: n,
  itemNumber,
  quantity,
  unitPrice,
});

const held = (n: number, itemNumber: string, quantity: number, salesPrice?: number): DynamicsLine => ({
  lotId: `LOT-${n}`,
  salesforceId: `00k00000000000${n}AAA`,
  itemNumber,
  lineNumber: n,
  quantity,
  salesPrice,
});

describe('planLineChanges', () => {
  it('adds every line of a new order in Salesforce order', () => {
    const plan = planLineChanges('Opportunity', [line(1, 'P1', 1), line(2, 'P2', 2)], []);
    expect(plan.add.map((l) => l.lineNumber)).toEqual([1, 2]);
    expect(plan.update).toEqual([]);
    expect(plan.remove).toEqual([]);
  });

  it('changes quantity and price in place, adds new lines and removes lines Salesforce dropped', () => {
    const plan = planLineChanges(
      'Opportunity',
      [line(1, 'P1', 5, 10), line(2, 'P2', 2, 20), line(4, 'P4', 1)],
      [held(1, 'P1', 1, 10), held(2, 'P2', 2, 25), held(3, 'P3', 3)],
    );
    expect(plan.add.map((l) => l.itemNumber)).toEqual(['P4']);
    expect(plan.update).toEqual([
      {
        lotId: 'LOT-1',
        line: expect.objectContaining({ lineNumber: 1 }),
        patch: { OrderedSalesQuantity: 5 },
      },
      { lotId: 'LOT-2', line: expect.objectContaining({ lineNumber: 2 }), patch: { SalesPrice: 20 } },
    ]);
    expect(plan.remove.map((l) => l.lotId)).toEqual(['LOT-3']);
  });

  it('never touches lines added in Dynamics or whose reference is not a line id of this object', () => {
    const plan = planLineChanges(
      'Opportunity',
      [line(1, 'P1', 1)],
      [
        held(1, 'P1', 1),
        { ...held(7, 'P7', 1), salesforceId: undefined },
        { ...held(8, 'P8', 1), salesforceId: 'customer ref 8' },
        { ...held(9, 'P9', 1), salesforceId: '802000000000009AAA' },
      ],
    );
    expect(planIsEmpty(plan)).toBe(true);
  });

  it('reports a line whose item was changed in Dynamics as a conflict, matching ids case-sensitively', () => {
    const plan = planLineChanges('Opportunity', [line(1, 'P1', 1)], [held(1, 'P9', 1)]);
    expect(plan.conflicts).toEqual(['line 1 (00k000000000001AAA) is P9 in Dynamics but P1 in Salesforce']);
    const other = planLineChanges(
      'Opportunity',
      [line(1, 'P1', 1)],
      [{ ...held(1, 'P1', 1), salesforceId: '00K000000000001AAA' }],
    );
    expect(other.add).toHaveLength(1);
  });
});

describe('linesHash', () => {
  it('changes with a quantity, price, item or line, not with the order lines come in', () => {
    const base = [line(1, 'P1', 1, 10), line(2, 'P2', 2)];
    expect(linesHash([...base].reverse())).toBe(linesHash(base));
    expect(linesHash([line(1, 'P1', 2, 10), line(2, 'P2', 2)])).not.toBe(linesHash(base));
    expect(linesHash([line(1, 'P1', 1, 11), line(2, 'P2', 2)])).not.toBe(linesHash(base));
    expect(linesHash([line(1, 'P1', 1, 10)])).not.toBe(linesHash(base));
  });
});

describe('isSourceLineId and isClosedStatus', () => {
  it('knows the line objects by key prefix and the statuses that close an order', () => {
    expect(isSourceLineId('Opportunity', '00k000000000001AAA')).toBe(true);
    expect(isSourceLineId('Order', '802000000000001')).toBe(true);
    expect(isSourceLineId('Order', '00k000000000001AAA')).toBe(false);
    expect(['None', 'Backorder', 'Delivered', 'Invoiced', 'Canceled'].map(isClosedStatus)).toEqual([
      false,
      false,
      true,
      true,
      true,
    ]);
  });
});
