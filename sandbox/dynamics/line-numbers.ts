/**
 * SalesOrderLines numbering as F&O does it: every new line gets the next LineCreationSequenceNumber
 * of its order (Int32, system-assigned), and with DefaultLineNumberFromLineCreationSequenceNumber =
 * Yes its LineNumber (Edm.Decimal) is that number, whatever the caller sent. The reference schema
 * has both fields; Microsoft does not document whether a caller's LineNumber survives, so the
 * sandbox's default is the one that breaks connectors relying on it.
 *
 * UNCONFIRMED: that F&O overwrites a caller's LineCreationSequenceNumber rather than refusing it;
 * that the creation sequence is never reused after a line is deleted; the option that keeps a
 * caller's LineNumber (DefaultLineNumberFromLineCreationSequenceNumber = No, next LineNumber =
 * highest + 1 when none is sent) exists to test connectors against the other behaviour.
 */
import type { Rec } from './data.ts';

export interface LineNumberOptions {
  /** LineNumber from the line creation sequence, whatever the caller sent. Default true. */
  readonly fromCreationSequence?: boolean;
}

/** The line numbering of one sandbox. */
export class LineNumbering {
  fromCreationSequence: boolean;
  private readonly counters = new Map<string, number>();

  constructor(options: LineNumberOptions = {}) {
    this.fromCreationSequence = options.fromCreationSequence ?? true;
  }

  /** Numbers a new line of the order whose current lines are `existing`; mutates `line`. */
  number(line: Rec, callerLineNumber: unknown, existing: readonly Rec[]): void {
    const order = `${String(line.dataAreaId).toLowerCase()}\u0000${String(line.SalesOrderNumber).toLowerCase()}`;
    const highest = (f: string) => Math.max(0, ...existing.map((l) => Number(l[f] ?? 0) || 0));
    const creation = Math.max(this.counters.get(order) ?? 0, highest('LineCreationSequenceNumber')) + 1;
    this.counters.set(order, creation);
    line.LineCreationSequenceNumber = creation;
    if (this.fromCreationSequence) {
      line.DefaultLineNumberFromLineCreationSequenceNumber = 'Yes';
      line.LineNumber = creation;
    } else {
      line.DefaultLineNumberFromLineCreationSequenceNumber = 'No';
      line.LineNumber =
        callerLineNumber === undefined || callerLineNumber === null
          ? highest('LineNumber') + 1
          : Number(callerLineNumber);
    }
  }
}
