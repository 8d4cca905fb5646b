// avro-js 1.12.2 (a dependency of salesforce-pubsub-api-client 5.5.2) requires 'underscore' from its
// deprecated validator without declaring it, so the client cannot load in a clean install. This
// stands in for the few helpers that file uses; the fidelity test resolves 'underscore' here.
'use strict';
const isObject = (v) => v !== null && (typeof v === 'object' || typeof v === 'function');
const values = (c) => (Array.isArray(c) ? c : isObject(c) ? Object.values(c) : []);
const isEqual = (a, b) => {
  if (a === b) return true;
  if (!isObject(a) || !isObject(b)) return Number.isNaN(a) && Number.isNaN(b);
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && isEqual(a[k], b[k]));
};
module.exports = {
  all: (c, f) => values(c).every(f ?? Boolean),
  contains: (c, v) => values(c).includes(v),
  each: (c, f) => {
    if (Array.isArray(c)) c.forEach(f);
    else if (isObject(c)) for (const k of Object.keys(c)) f(c[k], k, c);
    return c;
  },
  has: (o, k) => o != null && Object.hasOwn(o, k),
  isArray: Array.isArray,
  isBoolean: (v) => v === true || v === false,
  isEmpty: (v) =>
    v == null || (typeof v === 'string' || Array.isArray(v) ? v.length === 0 : Object.keys(v).length === 0),
  isEqual,
  isNull: (v) => v === null,
  isNumber: (v) => typeof v === 'number',
  isObject,
  isString: (v) => typeof v === 'string',
  isUndefined: (v) => v === undefined,
  keys: (o) => (isObject(o) ? Object.keys(o) : []),
  map: (c, f) => (Array.isArray(c) ? c.map(f) : isObject(c) ? Object.keys(c).map((k) => f(c[k], k, c)) : []),
  pluck: (c, k) => values(c).map((v) => v?.[k]),
  size: (c) => values(c).length,
};
