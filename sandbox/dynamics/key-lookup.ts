/**
 * Index use for key filters: when a `$filter` pins every key field of each record it can match
 * (e.g. an OR-chain of `dataAreaId eq 'x' and CustomerAccount eq 'y'`, the usual substitute for the
 * missing `in` operator), the records are fetched by key instead of scanning the entity set, as
 * SQL Server would seek the primary key. Results are identical to a scan.
 */
import type { FilterNode } from './filter.ts';

type Candidate = Readonly<Record<string, string>>;

const MAX_CANDIDATES = 10_000;

function candidates(node: FilterNode, keys: readonly string[]): Candidate[] | undefined {
  switch (node.kind) {
    case 'compare': {
      if (node.op !== 'eq') return undefined;
      const [f, v] = node.left.kind === 'field' ? [node.left, node.right] : [node.right, node.left];
      if (f.kind !== 'field' || !keys.includes(f.name)) return undefined;
      if (v.kind !== 'literal' || v.type !== 'string' || v.value.includes('*')) return undefined;
      return [{ [f.name]: v.value }];
    }
    case 'or': {
      const l = candidates(node.left, keys);
      const r = l && candidates(node.right, keys);
      if (!l || !r || l.length + r.length > MAX_CANDIDATES) return undefined;
      return [...l, ...r];
    }
    case 'and': {
      const l = candidates(node.left, keys);
      const r = candidates(node.right, keys);
      if (!l || !r) return l ?? r;
      if (l.length * r.length > MAX_CANDIDATES) return undefined;
      const out: Candidate[] = [];
      for (const a of l) {
        for (const b of r) {
          const clash = Object.keys(b).some(
            (k) => a[k] !== undefined && a[k]?.toLowerCase() !== b[k]?.toLowerCase(),
          );
          if (!clash) out.push({ ...a, ...b });
        }
      }
      return out;
    }
    default:
      return undefined;
  }
}

/**
 * The key tuples a filter can match, or undefined when it does not pin every key. A missing
 * `dataAreaId` is taken from `companies` (the companies the read is scoped to), when known.
 */
export function keyTuples(
  filter: FilterNode | undefined,
  keys: readonly string[],
  companies: ReadonlySet<string> | undefined,
): string[][] | undefined {
  if (!filter) return undefined;
  const found = candidates(filter, keys);
  if (!found) return undefined;
  const out: string[][] = [];
  for (const c of found) {
    const missing = keys.filter((k) => c[k] === undefined);
    if (missing.length === 0) out.push(keys.map((k) => c[k] as string));
    else if (missing.length === 1 && missing[0] === 'dataAreaId' && companies) {
      for (const company of companies)
        out.push(keys.map((k) => (k === 'dataAreaId' ? company : (c[k] as string))));
    } else return undefined;
    if (out.length > MAX_CANDIDATES) return undefined;
  }
  return out;
}
