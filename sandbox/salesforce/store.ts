/**
 * The sandbox org's in-memory data: one table per object, rows copy-on-write (so query cursors
 * see a snapshot), External ID and parent indexes, and transactions with an undo log so
 * `allOrNone` requests roll back. Committed changes of CDC-enabled objects are published on the
 * change feed. Field-level validation lives in `values.ts`, object rules in `rules.ts`.
 */
import type { SandboxClock } from '#sandbox/shared/clock.ts';
import type { Random } from '#sandbox/shared/random.ts';
import type { ChangeFeed, ChangeType, SandboxChange } from './change-feed.ts';
import { createIdFactory, type IdFactory, normalizeId } from './ids.ts';
import type { FieldDef, ObjectDef } from './objects.ts';

/** A stored record: canonical field name → internal value (datetimes as epoch ms, dates as `YYYY-MM-DD`). */
export type Row = Readonly<Record<string, unknown>>;

/** A per-record failure, reported as Salesforce reports it (`statusCode`, `message`, `fields`). */
export class RecordError extends Error {
  override name = 'RecordError';
  readonly statusCode: string;
  readonly fields: readonly string[];
  constructor(statusCode: string, message: string, fields: readonly string[] = []) {
    super(message);
    this.statusCode = statusCode;
    this.fields = fields;
  }
}

/** One object's rows and indexes. */
export class Table {
  readonly def: ObjectDef;
  /** Lower-cased field name → definition. */
  readonly fields: Map<string, FieldDef>;
  /** Lower-cased relationship name → reference field. */
  readonly relationships: Map<string, FieldDef>;
  /** Insertion-ordered rows (deleted ones too, with IsDeleted true). */
  readonly rows = new Map<string, Row>();
  /** External ID field → lower-cased value → ids. */
  readonly external = new Map<string, Map<string, Set<string>>>();
  /** Reference field (one of a child relationship) → parent id → child ids. */
  readonly byParent = new Map<string, Map<string, Set<string>>>();

  constructor(def: ObjectDef, parentFields: readonly string[]) {
    this.def = def;
    this.fields = new Map(def.fields.map((f) => [f.name.toLowerCase(), f]));
    this.relationships = new Map(
      def.fields
        .filter((f) => f.relationshipName)
        .map((f) => [(f.relationshipName as string).toLowerCase(), f]),
    );
    for (const f of def.fields) if (f.externalId) this.external.set(f.name, new Map());
    for (const name of parentFields) this.byParent.set(name, new Map());
  }

  field(name: string): FieldDef | undefined {
    return this.fields.get(name.toLowerCase());
  }

  /** Ids of live rows whose External ID `field` equals `value` (case-insensitive). */
  findByExternalId(field: string, value: string): string[] {
    return [...(this.external.get(field)?.get(value.toLowerCase()) ?? [])];
  }

  /** Ids of live children pointing at `parentId` through `field`. */
  children(field: string, parentId: string): string[] {
    return [...(this.byParent.get(field)?.get(parentId) ?? [])];
  }

  /** Replaces the row for `id` (undefined removes it), keeping indexes in step. */
  put(id: string, next: Row | undefined): void {
    const prev = this.rows.get(id);
    for (const [name, index] of this.external) {
      reindex(index, live(prev) ? prev?.[name] : undefined, live(next) ? next?.[name] : undefined, id, true);
    }
    for (const [name, index] of this.byParent) {
      reindex(index, live(prev) ? prev?.[name] : undefined, live(next) ? next?.[name] : undefined, id, false);
    }
    if (next) this.rows.set(id, next);
    else this.rows.delete(id);
  }
}

const live = (row: Row | undefined): boolean => row !== undefined && row.IsDeleted !== true;

function reindex(
  index: Map<string, Set<string>>,
  before: unknown,
  after: unknown,
  id: string,
  fold: boolean,
): void {
  const key = (v: unknown) =>
    v === null || v === undefined ? undefined : fold ? String(v).toLowerCase() : String(v);
  const a = key(before);
  const b = key(after);
  if (a === b) return;
  if (a !== undefined) {
    const set = index.get(a);
    set?.delete(id);
    if (set?.size === 0) index.delete(a);
  }
  if (b !== undefined) {
    const set = index.get(b);
    if (set) set.add(id);
    else index.set(b, new Set([id]));
  }
}

/** Who is writing and through which API: used for audit fields and the change events' header. */
export interface WriteContext {
  readonly userId: string;
  /** `changeOrigin` of the resulting change events; empty for UI-like writes. */
  readonly changeOrigin: string;
}

/** One raw write of a CDC-enabled record inside a transaction. */
interface PendingWrite {
  readonly table: Table;
  readonly id: string;
  readonly prev: Row | undefined;
  readonly next: Row;
  readonly changeType: ChangeType;
}

/** A change event before the header fields are assigned. */
interface PendingChange {
  readonly entityName: string;
  readonly changeType: ChangeType;
  readonly recordId: string;
  readonly changedFields: string[];
  readonly nulledFields: string[];
  readonly values: Record<string, unknown>;
}

/** The org's store. */
export class Store {
  readonly tables = new Map<string, Table>();
  readonly ids: IdFactory;
  readonly clock: SandboxClock;
  readonly feed: ChangeFeed;
  readonly random: Random;
  private commitNumber = 0n;

  constructor(schema: ReadonlyMap<string, ObjectDef>, clock: SandboxClock, feed: ChangeFeed, random: Random) {
    this.clock = clock;
    this.feed = feed;
    this.random = random;
    this.ids = createIdFactory();
    const parents = new Map<string, string[]>();
    for (const def of schema.values()) {
      for (const rel of def.childRelationships) {
        parents.set(rel.childSObject, [...(parents.get(rel.childSObject) ?? []), rel.field]);
      }
    }
    for (const def of schema.values())
      this.tables.set(def.name.toLowerCase(), new Table(def, parents.get(def.name) ?? []));
  }

  /** The table for an object name (case-insensitive). */
  table(name: string): Table | undefined {
    return this.tables.get(name.toLowerCase());
  }

  /** The table whose key prefix starts `id`. */
  tableForId(id: string): Table | undefined {
    const prefix = id.slice(0, 3);
    for (const t of this.tables.values()) if (t.def.keyPrefix === prefix) return t;
    return undefined;
  }

  /** A row by id (15 or 18 characters), deleted ones only when `includeDeleted`. */
  get(type: string, id: string, includeDeleted = false): Row | undefined {
    const full = normalizeId(id);
    const row = full ? this.table(type)?.rows.get(full) : undefined;
    return row && (includeDeleted || row.IsDeleted !== true) ? row : undefined;
  }

  begin(ctx: WriteContext): Transaction {
    return new Transaction(this, ctx);
  }

  /** Publishes a transaction's changes with one transaction key and consecutive sequence numbers. */
  publish(changes: readonly PendingChange[], ctx: WriteContext): void {
    if (changes.length === 0) return;
    const transactionKey = this.transactionKey();
    const commitTimestamp = this.clock.now();
    const commitNumber = this.nextCommitNumber();
    changes.forEach((c, i) => {
      const change: SandboxChange = {
        entityName: c.entityName,
        changeType: c.changeType,
        recordIds: [c.recordId],
        changedFields: c.changedFields,
        nulledFields: c.nulledFields,
        diffFields: [],
        values: c.values,
        changeOrigin: ctx.changeOrigin,
        transactionKey,
        sequenceNumber: i + 1,
        commitTimestamp,
        commitNumber,
        commitUser: ctx.userId,
      };
      this.feed.publish(change);
    });
  }

  /** The next system change number (increasing; large like Salesforce's). */
  nextCommitNumber(): bigint {
    this.commitNumber += 1n;
    return this.commitNumber * 1000n + 10_000_000_000n;
  }

  /** A new transaction key, formatted like Salesforce's (UUID-shaped hex). */
  transactionKey(): string {
    const hex = (n: number) =>
      Array.from({ length: n }, () => Math.floor(this.random.next() * 16).toString(16)).join('');
    return `${hex(8)}-${hex(4)}-${hex(4)}-${hex(4)}-${hex(12)}`;
  }
}

/** Fields a change event never names: the id travels in recordIds; SystemModstamp is not part of change events. */
const NOT_IN_EVENTS = new Set(['Id', 'IsDeleted', 'SystemModstamp']);

/** The change-event name of a field: compound components through their compound (`BillingAddress.City`). */
export function eventFieldName(field: FieldDef): string {
  if (!field.compoundFieldName) return field.name;
  const prefix = field.compoundFieldName.replace(/Address$/, '');
  return `${field.compoundFieldName}.${field.name.slice(prefix.length)}`;
}

/**
 * A unit of work. Writes apply at once (later records of the request see earlier ones), with an
 * undo log; `commit` publishes change events, `rollback` restores every touched row.
 */
export class Transaction {
  readonly store: Store;
  readonly ctx: WriteContext;
  private readonly undo: { table: Table; id: string; prev: Row | undefined }[] = [];
  private readonly changes: PendingWrite[] = [];
  private done = false;

  constructor(store: Store, ctx: WriteContext) {
    this.store = store;
    this.ctx = ctx;
  }

  /** A marker to roll back to (for one failed record of a partial-success request). */
  savepoint(): { undo: number; changes: number } {
    return { undo: this.undo.length, changes: this.changes.length };
  }

  rollbackTo(point: { undo: number; changes: number }): void {
    while (this.undo.length > point.undo) {
      const entry = this.undo.pop();
      if (entry) entry.table.put(entry.id, entry.prev);
    }
    this.changes.length = point.changes;
  }

  /** Writes a row and remembers the write for CDC (events are computed at commit). */
  write(table: Table, id: string, next: Row, changeType: ChangeType): void {
    const prev = table.rows.get(id);
    this.undo.push({ table, id, prev });
    table.put(id, next);
    if (table.def.cdc) this.changes.push({ table, id, prev, next, changeType });
  }

  /**
   * One event per record per transaction, of the record's first change type, carrying the state at
   * commit; an update that changed nothing yields no event.
   * https://developer.salesforce.com/docs/atlas.en-us.change_data_capture.meta/change_data_capture/cdc_general_considerations.htm
   */
  private events(): PendingChange[] {
    const byRecord = new Map<string, { first: PendingWrite; last: PendingWrite }>();
    for (const w of this.changes) {
      const seen = byRecord.get(w.id);
      if (seen) seen.last = w;
      else byRecord.set(w.id, { first: w, last: w });
    }
    const out: PendingChange[] = [];
    for (const { first, last } of byRecord.values()) {
      const changeType = last.changeType === 'DELETE' ? 'DELETE' : first.changeType;
      if (changeType === 'DELETE' && first.changeType === 'CREATE') continue;
      const change = describeChange(first.table, changeType, first.id, first.prev, last.next);
      if (change.changeType !== 'UPDATE' || change.changedFields.length > 0) out.push(change);
    }
    return out;
  }

  commit(): void {
    if (this.done) return;
    this.done = true;
    this.store.publish(this.events(), this.ctx);
  }

  rollback(): void {
    if (this.done) return;
    this.rollbackTo({ undo: 0, changes: 0 });
    this.done = true;
  }
}

/**
 * The event of one record. CREATE/UNDELETE carry every non-null field's value with an empty
 * changedFields ("empty for other operations, including record creation"); UPDATE lists the
 * changed fields plus LastModifiedDate.
 * https://developer.salesforce.com/docs/platform/apex-ref/references/apex-ref/apex-class-eventbus-changeeventheader.html
 */
function describeChange(
  table: Table,
  changeType: ChangeType,
  recordId: string,
  prev: Row | undefined,
  next: Row,
): PendingChange {
  const changedFields: string[] = [];
  const nulledFields: string[] = [];
  const values: Record<string, unknown> = {};
  if (changeType !== 'DELETE') {
    const everything = changeType === 'CREATE' || changeType === 'UNDELETE';
    for (const f of table.def.fields) {
      if (NOT_IN_EVENTS.has(f.name) || f.type === 'address') continue;
      const after = next[f.name] ?? null;
      const before = prev?.[f.name] ?? null;
      if (everything ? after === null : after === before) continue;
      const name = eventFieldName(f);
      if (!everything) changedFields.push(name);
      if (after === null) nulledFields.push(name);
      else values[f.name] = after;
    }
  }
  return { entityName: table.def.name, changeType, recordId, changedFields, nulledFields, values };
}
