/**
 * The sandbox org: schema, store, write operations, queries and seed data (the Standard Price
 * Book), plus the two users writes are attributed to (the integration user the connected app runs
 * as, and a sales rep for control-surface writes).
 */
import type { SandboxClock } from '#sandbox/shared/clock.ts';
import { seededRandom } from '#sandbox/shared/random.ts';
import type { ChangeFeed } from './change-feed.ts';
import { Dml } from './dml.ts';
import { idSuffix } from './ids.ts';
import { buildOrgSchema, type FieldDef, type ObjectDef } from './objects.ts';
import { QueryEngine } from './query.ts';
import type { OrgSettings, ValidationRule } from './rules.ts';
import { Store, type WriteContext } from './store.ts';

export interface OrgOptions {
  readonly seed: number;
  readonly multiCurrency: boolean;
  readonly currencies: readonly string[];
  readonly customFields?: Readonly<Record<string, readonly FieldDef[]>>;
  /** State and Country/Territory Picklists; default true. */
  readonly stateCountryPicklists?: boolean;
  /** Orders enabled; default true. */
  readonly orders?: boolean;
  readonly validationRules?: readonly ValidationRule[];
  readonly duplicatePriceStatusCode?: OrgSettings['duplicatePriceStatusCode'];
  readonly clock: SandboxClock;
  readonly feed: ChangeFeed;
}

const withSuffix = (id15: string) => id15 + idSuffix(id15);

const EXAMPLE_RATES: Readonly<Record<string, number>> = {
  EUR: 0.92,
  GBP: 0.79,
  CAD: 1.36,
  JPY: 151,
  CHF: 0.88,
};

export class Org {
  readonly schema: ReadonlyMap<string, ObjectDef>;
  readonly store: Store;
  readonly dml: Dml;
  readonly queries: QueryEngine;
  readonly settings: OrgSettings;
  readonly orgId = withSuffix('00DRO0000000001');
  /** The connected app's run-as user (client credentials flow). */
  readonly integrationUserId = withSuffix('005RO0000000001');
  /** The sales rep that control-surface writes are attributed to. */
  readonly salesRepUserId = withSuffix('005RO0000000002');

  constructor(options: OrgOptions) {
    const stateCountryPicklists = options.stateCountryPicklists ?? true;
    this.schema = buildOrgSchema({
      multiCurrency: options.multiCurrency,
      stateCountryPicklists,
      orders: options.orders ?? true,
      ...(options.customFields ? { customFields: options.customFields } : {}),
    });
    this.store = new Store(this.schema, options.clock, options.feed, seededRandom(options.seed));
    this.settings = {
      multiCurrency: options.multiCurrency,
      currencies: options.multiCurrency ? options.currencies : ['USD'],
      standardPricebookId: '',
      nextOrderNumber: 100,
      stateCountryPicklists,
      validationRules: options.validationRules ?? [],
      duplicatePriceStatusCode: options.duplicatePriceStatusCode ?? 'FIELD_INTEGRITY_EXCEPTION',
    };
    this.dml = new Dml(this.store, this.settings);
    this.queries = new QueryEngine(this.store);
    this.seed();
  }

  private seed(): void {
    const tx = this.store.begin({ userId: this.salesRepUserId, changeOrigin: '' });
    const id = this.dml.insert(tx, 'Pricebook2', { Name: 'Standard Price Book', IsActive: true });
    const table = this.store.table('Pricebook2');
    const row = table?.rows.get(id);
    if (table && row) table.put(id, Object.freeze({ ...row, IsStandard: true }));
    if (this.settings.multiCurrency) {
      this.settings.currencies.forEach((code, i) => {
        this.dml.insert(
          tx,
          'CurrencyType',
          new Map<string, unknown>([
            ['IsoCode', code],
            // Example rates against the corporate currency (the first); the sandbox converts nothing.
            ['ConversionRate', i === 0 ? 1 : (EXAMPLE_RATES[code] ?? 1)],
            ['DecimalPlaces', code === 'JPY' ? 0 : 2],
            ['IsActive', true],
            ['IsCorporate', i === 0],
          ]),
        );
      });
    }
    tx.commit();
    this.settings.standardPricebookId = id;
  }

  /**
   * The write context of a REST/Bulk call: `changeOrigin` is `com/salesforce/api/<api>/<version>;client=<id>`
   * with `<api>` `rest` or `bulkapi`.
   * https://developer.salesforce.com/docs/platform/apex-ref/references/apex-ref/apex-class-eventbus-changeeventheader.html
   */
  apiContext(
    userId: string,
    api: 'rest' | 'bulkapi',
    version: string,
    client: string | undefined,
  ): WriteContext {
    const origin = `com/salesforce/api/${api}/${version}`;
    return { userId, changeOrigin: client ? `${origin};client=${client}` : origin };
  }

  /** The write context of a human in the UI (control surface): empty changeOrigin. */
  uiContext(): WriteContext {
    return { userId: this.salesRepUserId, changeOrigin: '' };
  }
}
