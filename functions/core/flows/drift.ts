/**
 * Drift repair (`sync --reconcile`): the records the stored hashes call unchanged are looked up in
 * Salesforce by their External IDs, one SOQL per 200 (`SELECT <mapped fields> … WHERE <External
 * ID> IN (…)`), and compared with what the connector would send. A record that is gone (deleted in
 * Salesforce, or lost in a sandbox refresh) or whose fields were edited there is sent again: the
 * upsert recreates or corrects it. Values compare loosely (null, '' and absent are one; numbers by
 * value); UNCONFIRMED whether Salesforce normalises any value the connector writes (a URL, a
 * phone): such a field would be rewritten on every reconcile, which costs a write but changes
 * nothing.
 * https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_comparisonoperators.htm
 */
import type { EngineContext } from '#core/engine/context.ts';
import { soqlFields, soqlIdent, soqlList } from '#core/ports/salesforce/soql.ts';
import { chunk } from './chunks.ts';
import type { MappedRecord, ToSalesforceFlow } from './flow.ts';

/** Whether a value the connector sends equals what Salesforce holds. */
export function sameValue(sent: unknown, held: unknown): boolean {
  const blank = (v: unknown) => v === null || v === undefined || v === '';
  if (blank(sent) || blank(held)) return blank(sent) && blank(held);
  if (typeof sent === 'number' || typeof held === 'number') return Number(sent) === Number(held);
  if (typeof sent === 'boolean' || typeof held === 'boolean') return String(sent) === String(held);
  return sent === held;
}

/** What drifted, by ref: `missing` (not in Salesforce) or the first field that differs. */
export async function findDrift(
  ctx: EngineContext,
  flow: ToSalesforceFlow,
  items: readonly { readonly ref: number; readonly mapped: MappedRecord }[],
  signal?: AbortSignal,
): Promise<Map<number, string>> {
  const drift = new Map<number, string>();
  const key = flow.externalIdField(ctx.config);
  const names = new Set<string>(['Id', key]);
  for (const i of items) for (const f of Object.keys(i.mapped.fields)) names.add(f);
  for (const part of chunk(items, 200)) {
    const values = part.map((i) => String(i.mapped.fields[key]));
    const text = `SELECT ${soqlFields([...names]).text} FROM ${soqlIdent(flow.sobject).text} WHERE ${soqlIdent(key).text} IN ${soqlList(values).text}`;
    const held = new Map<string, Record<string, unknown>>();
    for await (const row of ctx.salesforce.query<Record<string, unknown>>(text, signal ? { signal } : {})) {
      // External IDs match case-insensitively unless the field is case-sensitive.
      held.set(String(row[key]).toLowerCase(), row);
    }
    for (const item of part) {
      const row = held.get(String(item.mapped.fields[key]).toLowerCase());
      if (!row) {
        drift.set(item.ref, 'missing in Salesforce');
        continue;
      }
      for (const [field, value] of Object.entries(item.mapped.fields)) {
        if (field === key || sameValue(value, row[field])) continue;
        drift.set(item.ref, `${flow.sobject}.${field} edited in Salesforce`);
        break;
      }
    }
  }
  return drift;
}
