/**
 * What a sales order's lines must become: the Salesforce lines (OpportunityLineItem / OrderItem)
 * compared with the Dynamics lines that carry a Salesforce line id in `salesOrders.lineIdField`.
 * Pure, so every case is unit-tested; the flow turns the plan into one `$batch` change set.
 *
 * Ownership (docs/OWNERSHIP.md): Salesforce owns the lines it created (item, quantity, unit price)
 * while the order is open. A Dynamics line without a Salesforce line id (added in F&O) is never
 * touched. A line whose id is in Dynamics but whose item differs was changed there: the order is
 * parked instead of guessing (a Salesforce line's product cannot change).
 */
import { contentHash } from '#core/mapping/hash.ts';
import type { SalesSource, SourceLine } from '#core/mapping/sales-orders.ts';

/** A Dynamics line as the plan needs it. */
export interface DynamicsLine {
  /** InventoryLotId: the line's key. */
  readonly lotId: string;
  /** The Salesforce line id held in `lineIdField`, when the line has one. */
  readonly salesforceId: string | undefined;
  readonly itemNumber: string;
  readonly lineNumber: unknown;
  readonly quantity: number;
  readonly salesPrice: number | undefined;
}

/** A line to change in place: its key and the fields Salesforce owns that differ. */
export interface LineUpdate {
  readonly lotId: string;
  readonly line: SourceLine;
  readonly patch: Readonly<Record<string, number>>;
}

/** The line writes that bring Dynamics to the Salesforce lines, and what blocks them. */
export interface LinePlan {
  readonly add: readonly SourceLine[];
  readonly update: readonly LineUpdate[];
  readonly remove: readonly DynamicsLine[];
  /** Lines Dynamics holds with another item than Salesforce: the order is parked. */
  readonly conflicts: readonly string[];
}

/** Salesforce key prefixes of the line objects (OpportunityLineItem 00k, OrderItem 802). */
const LINE_PREFIX: Readonly<Record<SalesSource, string>> = { Opportunity: '00k', Order: '802' };

/** Whether `id` is a Salesforce id of the source's line object (15 or 18 characters). */
export function isSourceLineId(sobject: SalesSource, id: string): boolean {
  return /^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$/.test(id) && id.slice(0, 3) === LINE_PREFIX[sobject];
}

const sameNumber = (a: number | undefined, b: number | undefined) =>
  a !== undefined && b !== undefined && Math.abs(a - b) < 1e-9;

/**
 * Plans the writes. Lines match on the Salesforce line id, case-sensitively (15/18-character Ids
 * differ only in case). Removes only lines whose id is a line id of this source object that
 * Salesforce no longer has; adds in Salesforce order.
 */
export function planLineChanges(
  sobject: SalesSource,
  wanted: readonly SourceLine[],
  existing: readonly DynamicsLine[],
): LinePlan {
  const byId = new Map<string, DynamicsLine>();
  for (const line of existing) if (line.salesforceId) byId.set(line.salesforceId, line);
  const wantedIds = new Set(wanted.map((l) => l.id));
  const add: SourceLine[] = [];
  const update: LineUpdate[] = [];
  const conflicts: string[] = [];
  for (const line of wanted) {
    const found = byId.get(line.id);
    if (!found) {
      add.push(line);
      continue;
    }
    if (found.itemNumber.toLowerCase() !== (line.itemNumber ?? '').toLowerCase()) {
      conflicts.push(
        `line ${String(found.lineNumber ?? '?')} (${line.id}) is ${found.itemNumber} in Dynamics but ${line.itemNumber} in Salesforce`,
      );
      continue;
    }
    const patch: Record<string, number> = {};
    if (!sameNumber(found.quantity, line.quantity)) patch.OrderedSalesQuantity = line.quantity;
    if (line.unitPrice !== undefined && !sameNumber(found.salesPrice, line.unitPrice))
      patch.SalesPrice = line.unitPrice;
    if (Object.keys(patch).length > 0) update.push({ lotId: found.lotId, line, patch });
  }
  const remove = existing.filter(
    (l) => l.salesforceId && !wantedIds.has(l.salesforceId) && isSourceLineId(sobject, l.salesforceId),
  );
  return { add, update, remove, conflicts };
}

/** Whether the plan writes nothing. */
export const planIsEmpty = (plan: LinePlan): boolean =>
  plan.add.length === 0 && plan.update.length === 0 && plan.remove.length === 0;

/** A short account of the plan for messages: "adds 1, changes 2, removes 1". */
export function describePlan(plan: LinePlan): string {
  return `adds ${plan.add.length}, changes ${plan.update.length}, removes ${plan.remove.length} line(s)`;
}

/**
 * The content hash of the lines as they are sent (id, item, quantity, unit price): stored with the
 * completed record, so an unchanged Opportunity/Order is skipped and a changed one is written again.
 */
export function linesHash(lines: readonly SourceLine[]): string {
  return contentHash(
    [...lines]
      .sort((a, b) => a.id.localeCompare(b.id))
      .map((l) => [l.id, l.itemNumber ?? null, l.quantity, l.unitPrice ?? null]),
  );
}

/** SalesOrderHeadersV2.SalesOrderStatus values (enum SalesStatus) after which F&O takes no line change. */
const CLOSED_STATUSES: ReadonlySet<string> = new Set(['Delivered', 'Invoiced', 'Canceled']);

/**
 * Whether a sales order can no longer take line changes, from its SalesOrderStatus (enum
 * SalesStatus: None, Backorder, Delivered, Invoiced, Canceled). Open: None and Backorder.
 */
export function isClosedStatus(status: unknown): boolean {
  return typeof status === 'string' && CLOSED_STATUSES.has(status);
}
