/**
 * Plans reads of a set of records by key without the `in` operator (F&O does not support it):
 * OR-chains of full key predicates, grouped per dataAreaId, packed greedily into as few requests
 * as fit under a URL length limit.
 * https://learn.microsoft.com/en-us/dynamics365/fin-ops-core/dev-itpro/data-entities/odata#filter-details
 *
 * The default limit is 2,048 characters for the whole URL: IIS request filtering, which fronts
 * the F&O AOS, refuses query strings longer than `maxQueryString` (default 2,048 bytes) with
 * 404.15, so a URL within 2,048 characters is within every default on the path.
 * https://learn.microsoft.com/en-us/iis/configuration/system.webserver/security/requestfiltering/requestlimits/
 */
import { ValidationError } from '#base/errors.ts';
import type { AnyEntity, EntityKey } from '#core/ports/dynamics/entities.ts';
import { formatKey, validateKey } from '#core/ports/dynamics/keys.ts';
import {
  and,
  assertField,
  encodeQueryValue,
  eq,
  eqVerbatim,
  type Filter,
  group,
  or,
} from '#core/ports/dynamics/odata.ts';

/** The default URL length limit, in characters (see the module comment). */
export const DEFAULT_MAX_URL_LENGTH = 2048;

/** One planned request: its URL and the keys it asks for. */
export interface KeyChunk<E extends AnyEntity> {
  readonly url: string;
  readonly keys: readonly EntityKey<E>[];
}

/** Where and how {@link planKeyReads} builds URLs. */
export interface KeyPlanOptions {
  /** `{environment}/data/`. */
  readonly odataUrl: string;
  /** Fields to select; the key fields are added when missing. */
  readonly select?: readonly string[] | undefined;
  readonly maxUrlLength?: number | undefined;
}

type Key = Readonly<Record<string, string>>;

function keyPredicate(fields: readonly string[], key: Key): Filter {
  return and(...fields.map((f) => eqVerbatim(f, key[f] as string)));
}

/** The filter for a set of keys, company by company. */
export function keysFilter(entity: AnyEntity, groups: ReadonlyMap<string, readonly Key[]>): Filter {
  const rest = entity.companySpecific ? entity.keys.slice(1) : entity.keys;
  const parts: Filter[] = [];
  for (const [company, keys] of groups) {
    const chain = or(...keys.map((k) => group(keyPredicate(rest, k))));
    parts.push(entity.companySpecific ? and(eq('dataAreaId', company), chain) : chain);
  }
  return parts.length === 1 ? (parts[0] as Filter) : or(...parts.map((p) => group(p)));
}

/**
 * Splits `keys` into requests whose URLs stay within `maxUrlLength`, keys of one company kept
 * together, duplicates (case-insensitive, as F&O compares) dropped. Throws ValidationError for an
 * invalid key or one too long to fit in a single URL.
 */
export function planKeyReads<E extends AnyEntity>(
  entity: E,
  keys: readonly EntityKey<E>[],
  options: KeyPlanOptions,
): KeyChunk<E>[] {
  const limit = options.maxUrlLength ?? DEFAULT_MAX_URL_LENGTH;
  const select = options.select
    ? [...new Set([...entity.keys, ...options.select.map(assertField)])]
    : undefined;
  const prefix = `${options.odataUrl}${entity.name}?${entity.companySpecific ? 'cross-company=true&' : ''}$filter=`;
  const suffix = select ? `&$select=${select.join(',')}` : '';
  const budget = limit - prefix.length - suffix.length;

  const byCompany = new Map<string, Key[]>();
  const seen = new Set<string>();
  for (const raw of keys) {
    const key = validateKey(entity, raw) as Key;
    const id = entity.keys.map((f) => (key[f] as string).toLowerCase()).join('\u0000');
    if (seen.has(id)) continue;
    seen.add(id);
    const company = entity.companySpecific ? (key.dataAreaId as string) : '';
    const list = byCompany.get(company);
    if (list) list.push(key);
    else byCompany.set(company, [key]);
  }

  const chunks: KeyChunk<E>[] = [];
  let current = new Map<string, Key[]>();
  let count = 0;
  let encoded = '';
  const flush = () => {
    if (count === 0) return;
    const all = [...current.values()].flat() as unknown as EntityKey<E>[];
    chunks.push({ url: `${prefix}${encoded}${suffix}`, keys: all });
    current = new Map();
    count = 0;
    encoded = '';
  };
  for (const [company, list] of byCompany) {
    for (const key of list) {
      const trial = new Map(current);
      trial.set(company, [...(current.get(company) ?? []), key]);
      const text = encodeQueryValue(keysFilter(entity, trial).text);
      if (text.length <= budget) {
        current = trial;
        count += 1;
        encoded = text;
        continue;
      }
      flush();
      const alone = new Map([[company, [key]]]);
      const single = encodeQueryValue(keysFilter(entity, alone).text);
      if (single.length > budget) {
        throw new ValidationError(
          `${formatKey(entity, key as EntityKey<E>)} is too long to read within a ${limit}-character URL`,
          { field: entity.keys.at(-1) ?? entity.name },
        );
      }
      current = alone;
      count = 1;
      encoded = single;
    }
  }
  flush();
  return chunks;
}
