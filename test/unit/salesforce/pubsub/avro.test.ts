import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createSchemaCache, parseAvroSchema } from '#salesforce/pubsub/avro.ts';

const schema = JSON.stringify({
  type: 'record',
  name: 'T',
  fields: [
    { name: 'n', type: 'long' },
    { name: 'maybe', type: ['null', 'long'], default: null },
    { name: 's', type: ['null', 'string'], default: null },
  ],
});

describe('Avro decoding', () => {
  it('decodes every 64-bit long as an exact BigInt', () => {
    const type = parseAvroSchema(schema);
    fc.assert(
      fc.property(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), (n) => {
        const decoded = type.fromBuffer(type.toBuffer({ n, maybe: n, s: null })) as Record<string, unknown>;
        expect(decoded.n).toBe(n);
        expect(decoded.maybe).toBe(n);
      }),
    );
  });

  it('keeps a long above 2^53 that a JavaScript number would round', () => {
    const type = parseAvroSchema(schema);
    const big = 2n ** 53n + 1n;
    const decoded = type.fromBuffer(type.toBuffer({ n: big, maybe: null, s: 'x' })) as Record<
      string,
      unknown
    >;
    expect(decoded.n).toBe(9007199254740993n);
    expect(decoded.maybe).toBeNull();
    expect(decoded.s).toBe('x');
  });

  it('fetches a schema once for concurrent misses and retries after a failure', async () => {
    let calls = 0;
    let fail = true;
    const cache = createSchemaCache(async () => {
      calls += 1;
      if (fail) throw new Error('UNAVAILABLE');
      return schema;
    });
    await expect(cache.get('abc')).rejects.toThrow('UNAVAILABLE');
    fail = false;
    const [a, b] = await Promise.all([cache.get('abc'), cache.get('abc')]);
    expect(a).toBe(b);
    expect(calls).toBe(2);
    expect(cache.size).toBe(1);
  });
});
