/**
 * The account write-back against the customers sync. The write-back creates the customer in F&O
 * (carrying the Account Id in `accountWriteBack.salesforceIdField`) and then writes its key to the
 * Account; a customers sync that reads the new customer in between would upsert by an External ID
 * no Account holds yet and create a second Account (and the key write-back would then fail
 * DUPLICATE_VALUE). So a customer that carries an Account Id is written to that Account by Id when
 * the Account exists and holds no other key: both writes set the same key, in either order.
 * One SOQL per 200 such customers in a batch; customers without an Account Id cost nothing.
 */
import type { EngineContext } from '#core/engine/context.ts';
import { soql, soqlIdent } from '#core/ports/salesforce/soql.ts';
import { chunk } from './chunks.ts';
import type { MappedRecord } from './flow.ts';

/** An Account Id (key prefix 001, 15 or 18 characters). */
const ACCOUNT_ID = /^001[A-Za-z0-9]{12}(?:[A-Za-z0-9]{3})?$/;

/** What the customers mapper keeps for the link: the Account Id the customer carries, if it looks like one. */
export interface AccountLink {
  readonly accountId?: string | undefined;
}

/** The Account Id a customer carries in the configured field, when write-back is on and it is one. */
export function accountIdOf(
  ctx: EngineContext,
  record: Readonly<Record<string, unknown>>,
): string | undefined {
  if (!ctx.config.flows.accountWriteBack.enabled) return undefined;
  const value = record[ctx.config.accountWriteBack.salesforceIdField];
  return typeof value === 'string' && ACCOUNT_ID.test(value) ? value : undefined;
}

/** The customers to write by Account Id, by ref (see the module comment). */
export async function accountLinks(
  ctx: EngineContext,
  items: readonly { readonly ref: number; readonly mapped: MappedRecord }[],
  signal?: AbortSignal,
): Promise<Map<number, string>> {
  const links = new Map<number, string>();
  const field = ctx.config.externalIds.account;
  const candidates = items.filter((i) => (i.mapped.extra as AccountLink | undefined)?.accountId);
  for (const part of chunk(candidates, 200)) {
    const ids = part.map((i) => (i.mapped.extra as AccountLink).accountId as string);
    const held = new Map<string, { id: string; key: unknown }>();
    const text = `SELECT Id, ${soqlIdent(field).text} FROM Account WHERE ${soql`Id IN ${ids}`}`;
    for await (const row of ctx.salesforce.query<Record<string, unknown>>(text, signal ? { signal } : {})) {
      // 15- and 18-character forms of one Id share their first 15 characters.
      held.set(String(row.Id).slice(0, 15), { id: String(row.Id), key: row[field] });
    }
    for (const item of part) {
      const account = held.get(((item.mapped.extra as AccountLink).accountId as string).slice(0, 15));
      if (!account) continue;
      const key = item.mapped.fields[field];
      if (account.key === null || account.key === undefined || account.key === '' || account.key === key)
        links.set(item.ref, account.id);
    }
  }
  return links;
}
