/**
 * The field bitmaps of a change event header (`changedFields`, `nulledFields`, `diffFields`).
 * The first string is a hex bitmap over the top-level schema fields (bit i from the least
 * significant bit is `schema.fields[i]`); each further `"<parentIndex>-0x<hex>"` is a bitmap over the
 * fields of the compound (record) field at that index, named `Parent.Child` (`BillingAddress.City`).
 * https://developer.salesforce.com/docs/platform/pub-sub-api/guide/event-deserialization-considerations.html
 */
import avro from 'avsc';
import { ChangeEventFormatError } from './errors.ts';

/** A top-level schema field, with its children when it is a compound (record) field. */
export interface BitmapField {
  readonly name: string;
  readonly children?: readonly string[];
}

/** The bitmap layout of a change event record schema. */
export function bitmapFieldsOf(type: avro.Type): BitmapField[] {
  if (!(type instanceof avro.types.RecordType))
    throw new ChangeEventFormatError('a change event schema is a record');
  return type.fields.map((field) => {
    const record = recordOf(field.type);
    return record
      ? { name: field.name, children: record.fields.map((child) => child.name) }
      : { name: field.name };
  });
}

function recordOf(type: avro.Type): avro.types.RecordType | undefined {
  if (type instanceof avro.types.RecordType) return type;
  if (type instanceof avro.types.UnwrappedUnionType || type instanceof avro.types.WrappedUnionType) {
    return type.types.find((t): t is avro.types.RecordType => t instanceof avro.types.RecordType);
  }
  return undefined;
}

function toHex(bits: bigint): string {
  let hex = bits.toString(16).toUpperCase();
  if (hex.length % 2 === 1) hex = `0${hex}`;
  return `0x${hex}`;
}

function fromHex(hex: string): bigint {
  if (!/^0x[0-9a-fA-F]+$/.test(hex)) throw new ChangeEventFormatError(`not a field bitmap: ${hex}`);
  return BigInt(hex);
}

/**
 * Encodes field names (top-level `Name`, or `BillingAddress.City` for a compound's child) as
 * bitmaps: uppercase, byte-padded hex; the top-level bitmap always first when anything is set
 * (`0x00` when only children are). Names not in the layout are ignored and returned in `unknown`.
 */
export function encodeFieldBitmaps(
  names: readonly string[],
  layout: readonly BitmapField[],
): { bitmaps: string[]; unknown: string[] } {
  const index = new Map(layout.map((field, i) => [field.name, i]));
  let top = 0n;
  const children = new Map<number, bigint>();
  const unknown: string[] = [];
  for (const name of names) {
    const dot = name.indexOf('.');
    const parent = dot < 0 ? name : name.slice(0, dot);
    const i = index.get(parent);
    if (i === undefined) {
      unknown.push(name);
      continue;
    }
    if (dot < 0) {
      top |= 1n << BigInt(i);
      continue;
    }
    const childIndex = layout[i]?.children?.indexOf(name.slice(dot + 1)) ?? -1;
    if (childIndex < 0) {
      unknown.push(name);
      continue;
    }
    children.set(i, (children.get(i) ?? 0n) | (1n << BigInt(childIndex)));
  }
  if (top === 0n && children.size === 0) return { bitmaps: [], unknown };
  const bitmaps = [toHex(top)];
  for (const [i, bits] of [...children].sort((a, b) => a[0] - b[0])) bitmaps.push(`${i}-${toHex(bits)}`);
  return { bitmaps, unknown };
}

function namesFromBits(bits: bigint, names: readonly string[], prefix: string, out: string[]): void {
  for (let i = 0; bits > 0n; i += 1, bits >>= 1n) {
    if ((bits & 1n) === 0n) continue;
    const name = names[i];
    if (name === undefined)
      throw new ChangeEventFormatError(`bitmap bit ${i} is beyond the schema's ${names.length} fields`);
    out.push(prefix + name);
  }
}

/** Decodes bitmaps to field names in schema order: `Name`, `BillingAddress.City`. */
export function decodeFieldBitmaps(bitmaps: readonly string[], layout: readonly BitmapField[]): string[] {
  const out: string[] = [];
  const topNames = layout.map((field) => field.name);
  for (const entry of bitmaps) {
    const dash = entry.indexOf('-');
    if (dash < 0) {
      namesFromBits(fromHex(entry), topNames, '', out);
      continue;
    }
    const parentIndex = Number(entry.slice(0, dash));
    const parent = layout[parentIndex];
    if (!Number.isInteger(parentIndex) || !parent?.children) {
      throw new ChangeEventFormatError(
        `bitmap ${entry} names field ${entry.slice(0, dash)}, which is not a compound field`,
      );
    }
    namesFromBits(fromHex(entry.slice(dash + 1)), parent.children, `${parent.name}.`, out);
  }
  return out;
}
