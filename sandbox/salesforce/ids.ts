/**
 * Salesforce record ids: 15 case-sensitive characters (3-character key prefix, 2-character pod,
 * a reserved `0`, a 9-character base-62 counter) plus the 3-character case-insensitivity suffix.
 * https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/field_types.htm#i1435616
 */

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const SUFFIX = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345';

/** The 3-character suffix that makes a 15-character id unique case-insensitively. */
export function idSuffix(id15: string): string {
  let out = '';
  for (let chunk = 0; chunk < 3; chunk++) {
    let bits = 0;
    for (let i = 0; i < 5; i++) {
      const c = id15.charCodeAt(chunk * 5 + i);
      if (c >= 65 && c <= 90) bits |= 1 << i;
    }
    out += SUFFIX[bits];
  }
  return out;
}

const ID_RE = /^[a-zA-Z0-9]{15}(?:[A-Z0-5]{3})?$/;

/** The 18-character form of a 15- or 18-character id, or undefined when `id` is not id-shaped or its suffix is wrong. */
export function normalizeId(id: string): string | undefined {
  if (!ID_RE.test(id)) return undefined;
  const id15 = id.slice(0, 15);
  const full = id15 + idSuffix(id15);
  if (id.length === 18 && id.slice(15).toUpperCase() !== full.slice(15)) return undefined;
  return full;
}

/** Mints sequential, real-looking 18-character ids for one org pod. */
export interface IdFactory {
  next(keyPrefix: string): string;
}

export function createIdFactory(pod = 'RO', start = 0x10000): IdFactory {
  const counters = new Map<string, number>();
  return {
    next(keyPrefix) {
      const n = (counters.get(keyPrefix) ?? start) + 1;
      counters.set(keyPrefix, n);
      let body = '';
      let rest = n;
      for (let i = 0; i < 9; i++) {
        body = BASE62[rest % 62] + body;
        rest = Math.floor(rest / 62);
      }
      const id15 = `${keyPrefix}${pod}0${body}`;
      return id15 + idSuffix(id15);
    },
  };
}
