/**
 * Avro decoding for Pub/Sub payloads: schemas parsed with avsc, `long` decoded as BigInt so
 * commit numbers and timestamps above 2^53 keep every bit, and a per-schema-id cache.
 * https://developer.salesforce.com/docs/platform/pub-sub-api/guide/event-deserialization-considerations.html
 */
import avro from 'avsc';

/** Avro `long` as a JavaScript BigInt, in both directions. */
export const bigIntLongType: avro.types.LongType = avro.types.LongType.__with({
  fromBuffer: (buf: Buffer) => buf.readBigInt64LE(),
  toBuffer: (n: bigint) => {
    const buf = Buffer.alloc(8);
    buf.writeBigInt64LE(n);
    return buf;
  },
  fromJSON: (value: unknown) => BigInt(value as string | number | bigint),
  toJSON: (n: bigint) =>
    n >= Number.MIN_SAFE_INTEGER && n <= Number.MAX_SAFE_INTEGER ? Number(n) : n.toString(),
  isValid: (n: unknown) => typeof n === 'bigint' && n >= -(2n ** 63n) && n < 2n ** 63n,
  compare: (a: bigint, b: bigint) => (a === b ? 0 : a < b ? -1 : 1),
});

/** Parses Avro schema JSON; longs decode to BigInt and unions to their bare values. */
export function parseAvroSchema(schemaJson: string): avro.Type {
  return avro.Type.forSchema(JSON.parse(schemaJson) as avro.Schema, {
    registry: { long: bigIntLongType },
    wrapUnions: false,
  });
}

/** A parsed writer schema. */
export interface CachedSchema {
  readonly id: string;
  readonly json: string;
  readonly type: avro.Type;
}

/** Schemas by id; a miss calls `fetch` once even when requested concurrently; failures are not cached. */
export interface SchemaCache {
  get(schemaId: string): Promise<CachedSchema>;
  /** Number of schemas held. */
  readonly size: number;
}

export function createSchemaCache(fetch: (schemaId: string) => Promise<string>): SchemaCache {
  const entries = new Map<string, Promise<CachedSchema>>();
  return {
    get(schemaId) {
      let entry = entries.get(schemaId);
      if (!entry) {
        entry = fetch(schemaId).then((json) => ({ id: schemaId, json, type: parseAvroSchema(json) }));
        entries.set(schemaId, entry);
        entry.catch(() => entries.delete(schemaId));
      }
      return entry;
    },
    get size() {
      return entries.size;
    },
  };
}
