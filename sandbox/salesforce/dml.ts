/**
 * Record writes as the org performs them: input parsing (field names case-insensitive,
 * relationship references by External ID), field-level security, required fields, External ID
 * uniqueness, audit fields, and the object rules of `rules.ts`. Every method writes inside the
 * given transaction and throws {@link RecordError} for a record Salesforce would reject.
 * https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_upsert.htm
 */
import { normalizeId } from './ids.ts';
import type { FieldDef } from './objects.ts';
import {
  afterDelete,
  afterWrite,
  beforeDelete,
  beforeWrite,
  checkValidationRules,
  type OrgSettings,
} from './rules.ts';
import { RecordError, type Row, type Store, type Table, type Transaction } from './store.ts';
import { coerceValue } from './values.ts';

/** Parsed input: canonical field name → stored value, plus the names as the caller wrote them. */
export type ParsedInput = Map<string, unknown>;

export interface ParseOptions {
  readonly op: 'insert' | 'update';
  /** Values come from CSV text (Bulk): `#N/A` is null, booleans may be 0/1. */
  readonly fromText?: boolean;
}

/** The org's write operations over a {@link Store}. */
export class Dml {
  readonly store: Store;
  readonly settings: OrgSettings;

  constructor(store: Store, settings: OrgSettings) {
    this.store = store;
    this.settings = settings;
  }

  private table(type: string): Table {
    const t = this.store.table(type);
    if (!t) throw new RecordError('INVALID_TYPE', `sObject type '${type}' is not supported.`);
    return t;
  }

  /**
   * Validates and converts a record body. Unknown fields → INVALID_FIELD; fields the operation may
   * not set → INVALID_FIELD_FOR_INSERT_UPDATE; relationship values like `{"Account": {"Ext__c": "K"}}`
   * resolve to the parent's id (INVALID_FIELD when no parent matches).
   */
  parse(table: Table, input: Readonly<Record<string, unknown>>, options: ParseOptions): ParsedInput {
    const out: ParsedInput = new Map();
    const forbidden: string[] = [];
    for (const [key, raw] of Object.entries(input)) {
      if (key === 'attributes') continue;
      const field = table.field(key);
      if (!field) {
        const rel = table.relationships.get(key.toLowerCase());
        if (rel && raw !== null && typeof raw === 'object') {
          out.set(rel.name, this.resolveParent(rel, raw as Record<string, unknown>));
          continue;
        }
        throw new RecordError(
          'INVALID_FIELD',
          `No such column '${key}' on sobject of type ${table.def.name}`,
          [key],
        );
      }
      if (field.name === 'Id' && options.op === 'update') continue;
      const allowed = options.op === 'insert' ? field.createable : field.updateable;
      if (!allowed) {
        forbidden.push(field.name);
        continue;
      }
      const value = options.fromText && raw === '#N/A' ? null : raw;
      out.set(field.name, coerceValue(field, value, options.fromText));
    }
    if (forbidden.length > 0) {
      throw new RecordError(
        'INVALID_FIELD_FOR_INSERT_UPDATE',
        `Unable to create/update fields: ${forbidden.join(', ')}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.`,
        forbidden,
      );
    }
    return out;
  }

  private resolveParent(rel: FieldDef, ref: Record<string, unknown>): string {
    const target = this.store.table(rel.referenceTo?.[0] ?? '');
    const entries = Object.entries(ref).filter(([k]) => k !== 'attributes');
    const [key, value] = entries[0] ?? [];
    const field = key ? target?.field(key) : undefined;
    if (!target || entries.length !== 1 || !field?.externalId || value === null || value === undefined) {
      throw new RecordError(
        'INVALID_FIELD',
        `The relationship ${rel.relationshipName} must be set by exactly one External ID field`,
        [rel.name],
      );
    }
    const ids = target.findByExternalId(field.name, String(value));
    if (ids.length !== 1) {
      throw new RecordError(
        ids.length === 0 ? 'INVALID_FIELD' : 'DUPLICATE_EXTERNAL_ID',
        ids.length === 0
          ? `Foreign key external ID: ${String(value)} not found for field ${field.name} in entity ${target.def.name}`
          : `${field.label}: more than one record found for external id field: [${ids.join(', ')}]`,
        [rel.name],
      );
    }
    return ids[0] as string;
  }

  /** Checks the references of a row: the id must be of the field's target object and live. */
  private checkReferences(table: Table, row: Record<string, unknown>, changed: Iterable<string>): void {
    for (const name of changed) {
      const field = table.field(name);
      const value = row[name];
      if (field?.type !== 'reference' || typeof value !== 'string') continue;
      const targets = field.referenceTo ?? [];
      if (targets.includes('User')) continue;
      const target = this.store.tableForId(value);
      if (!target || !targets.includes(target.def.name)) {
        throw new RecordError(
          'FIELD_INTEGRITY_EXCEPTION',
          `${field.label}: id value of incorrect type: ${value}`,
          [field.name],
        );
      }
      if (!this.store.get(target.def.name, value)) {
        throw new RecordError('INVALID_CROSS_REFERENCE_KEY', `invalid cross reference id`, [field.name]);
      }
    }
  }

  private checkRequired(table: Table, row: Record<string, unknown>): void {
    const missing = table.def.fields
      .filter((f) => f.required && (row[f.name] === null || row[f.name] === undefined))
      .map((f) => f.name);
    if (missing.length > 0) {
      throw new RecordError(
        'REQUIRED_FIELD_MISSING',
        `Required fields are missing: [${missing.join(', ')}]`,
        missing,
      );
    }
  }

  private checkUnique(table: Table, row: Record<string, unknown>, id: string): void {
    for (const f of table.def.fields) {
      if (!f.unique || row[f.name] === null || row[f.name] === undefined) continue;
      const other = table.findByExternalId(f.name, String(row[f.name])).find((x) => x !== id);
      if (other) {
        throw new RecordError(
          'DUPLICATE_VALUE',
          `duplicate value found: ${f.name} duplicates value on record with id: ${other}`,
          [],
        );
      }
    }
  }

  /** Inserts a record; returns its id. */
  insert(tx: Transaction, type: string, input: Readonly<Record<string, unknown>> | ParsedInput): string {
    const table = this.table(type);
    const parsed = input instanceof Map ? input : this.parse(table, input, { op: 'insert' });
    const id = this.store.ids.next(table.def.keyPrefix);
    const now = this.store.clock.now();
    const row: Record<string, unknown> = {};
    for (const f of table.def.fields) row[f.name] = f.type === 'boolean' ? false : null;
    Object.assign(row, {
      Id: id,
      IsDeleted: false,
      CreatedDate: now,
      CreatedById: tx.ctx.userId,
      LastModifiedDate: now,
      LastModifiedById: tx.ctx.userId,
      SystemModstamp: now,
    });
    if (table.field('OwnerId')) row.OwnerId = tx.ctx.userId;
    for (const [k, v] of parsed) row[k] = v;
    beforeWrite(this, tx, table, row, undefined, new Set(parsed.keys()));
    this.checkRequired(table, row);
    checkValidationRules(this.settings, table, row, undefined);
    this.checkReferences(table, row, parsed.keys());
    this.checkUnique(table, row, id);
    tx.write(table, id, Object.freeze(row), 'CREATE');
    afterWrite(this, tx, table, row, undefined);
    return id;
  }

  /**
   * Updates a record. Returns false (and writes nothing) when no value changes: Salesforce
   * publishes change events only for changed fields.
   * https://developer.salesforce.com/docs/atlas.en-us.change_data_capture.meta/change_data_capture/cdc_event_fields_header.htm
   */
  update(
    tx: Transaction,
    type: string,
    id: string,
    input: Readonly<Record<string, unknown>> | ParsedInput,
  ): boolean {
    const table = this.table(type);
    const prev = this.requireRow(table, id);
    const parsed = input instanceof Map ? input : this.parse(table, input, { op: 'update' });
    return this.apply(tx, table, prev, parsed);
  }

  /** Applies already-parsed values to an existing row (also used for system-side updates by rules). */
  apply(
    tx: Transaction,
    table: Table,
    prev: Row,
    values: ReadonlyMap<string, unknown>,
    system = false,
  ): boolean {
    const row: Record<string, unknown> = { ...prev };
    const changed = new Set<string>();
    for (const [k, v] of values) {
      if (row[k] !== v) changed.add(k);
      row[k] = v;
    }
    if (!system) beforeWrite(this, tx, table, row, prev, changed);
    for (const f of table.def.fields) if (row[f.name] !== prev[f.name]) changed.add(f.name);
    if (changed.size === 0) return false;
    if (!system) {
      this.checkRequired(table, row);
      checkValidationRules(this.settings, table, row, prev);
      this.checkReferences(table, row, changed);
      this.checkUnique(table, row, prev.Id as string);
    }
    const now = this.store.clock.now();
    row.LastModifiedDate = now;
    row.LastModifiedById = tx.ctx.userId;
    row.SystemModstamp = now;
    tx.write(table, prev.Id as string, Object.freeze(row), 'UPDATE');
    afterWrite(this, tx, table, row, prev);
    return true;
  }

  /** Deletes a record (to the recycle bin: `queryAll` still sees it). */
  delete(tx: Transaction, type: string, id: string): void {
    const table = this.table(type);
    const prev = this.requireRow(table, id);
    beforeDelete(this, tx, table, prev);
    const now = this.store.clock.now();
    tx.write(
      table,
      prev.Id as string,
      Object.freeze({ ...prev, IsDeleted: true, SystemModstamp: now, LastModifiedDate: now }),
      'DELETE',
    );
    afterDelete(this, tx, table, prev);
  }

  /** Restores a deleted record. */
  undelete(tx: Transaction, type: string, id: string): void {
    const table = this.table(type);
    const full = normalizeId(id);
    const prev = full ? table.rows.get(full) : undefined;
    if (prev?.IsDeleted !== true) {
      throw new RecordError('UNDELETE_FAILED', 'Entity is not in the recycle bin', []);
    }
    this.checkUnique(table, prev, prev.Id as string);
    const now = this.store.clock.now();
    tx.write(
      table,
      prev.Id as string,
      Object.freeze({ ...prev, IsDeleted: false, SystemModstamp: now }),
      'UNDELETE',
    );
    afterWrite(this, tx, table, { ...prev, IsDeleted: false }, undefined);
  }

  /**
   * Upserts on an External ID field (or `Id`): inserts when nothing matches, updates when one
   * record matches, DUPLICATE_EXTERNAL_ID when several do (the single-record REST resource
   * answers that with 300 instead; see `matches`).
   */
  upsert(
    tx: Transaction,
    type: string,
    extField: string,
    value: string,
    input: Readonly<Record<string, unknown>>,
    fromText = false,
  ): { id: string; created: boolean } {
    const table = this.table(type);
    const field = this.externalIdField(table, extField);
    const matches = this.matches(table, field, value);
    if (matches.length > 1) {
      throw new RecordError(
        'DUPLICATE_EXTERNAL_ID',
        `${field.label}: more than one record found for external id field: [${matches.join(', ')}]`,
        [field.name],
      );
    }
    const body: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(input)) {
      if (k.toLowerCase() !== field.name.toLowerCase()) body[k] = v;
    }
    const existing = matches[0];
    if (existing) {
      const parsed = this.parse(table, body, { op: 'update', fromText });
      this.apply(tx, table, this.requireRow(table, existing), parsed);
      return { id: existing, created: false };
    }
    const parsed = this.parse(table, body, { op: 'insert', fromText });
    if (field.name !== 'Id') parsed.set(field.name, coerceValue(field, value, fromText));
    return { id: this.insert(tx, type, parsed), created: true };
  }

  /** The External ID field (or `Id`) named `name`; INVALID_FIELD otherwise, worded as Salesforce words it. */
  externalIdField(table: Table, name: string): FieldDef {
    const field = table.field(name);
    if (!field) {
      throw new RecordError(
        'NOT_FOUND',
        `Provided external ID field does not exist or is not accessible: ${name}`,
        [],
      );
    }
    if (field.name !== 'Id' && !field.externalId) {
      throw new RecordError(
        'INVALID_FIELD',
        `Field ${field.name} is not an External ID or indexed field for ${table.def.name}`,
        [],
      );
    }
    return field;
  }

  /** Live ids whose External ID equals `value`. */
  matches(table: Table, field: FieldDef, value: string): string[] {
    if (field.name === 'Id') {
      const id = normalizeId(value);
      return id && this.store.get(table.def.name, id) ? [id] : [];
    }
    return table.findByExternalId(field.name, value);
  }

  requireRow(table: Table, id: string): Row {
    const row = this.store.get(table.def.name, id);
    if (!row) {
      const deleted = this.store.get(table.def.name, id, true);
      throw deleted
        ? new RecordError('ENTITY_IS_DELETED', 'entity is deleted', [])
        : new RecordError('NOT_FOUND', 'The requested resource does not exist', []);
    }
    return row;
  }
}
