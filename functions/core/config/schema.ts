/**
 * The connector's configuration: one documented schema for the local file and the AWS stage
 * config, validated once into a frozen typed object. Secrets never live here: credentials come
 * from the Secrets port (Secrets Manager on AWS, an encrypted 0600 file or env locally).
 * Written with zod/mini (the same validation as zod, about 20 KiB instead of 450 KiB in a bundle).
 */
import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.js';
import { exprProblems } from '#core/mapping/expression.ts';
import { DEFAULT_HOLD_VALUES } from '#core/mapping/lifecycle.ts';

z.config(en());

const text = (pattern: RegExp, message: string) => z.string().check(z.regex(pattern, message));
const nonEmpty = () => z.string().check(z.minLength(1));
const int = (min: number, max?: number) =>
  z.int().check(z.minimum(min), ...(max === undefined ? [] : [z.maximum(max)]));

const legalEntityId = z.pipe(
  text(/^[A-Za-z0-9]{1,4}$/, 'a legal entity (dataAreaId) is 1-4 letters or digits, e.g. usmf'),
  z.transform((s: string) => s.toLowerCase()),
);

const currencyCode = text(/^[A-Z]{3}$/, 'a currency is a 3-letter ISO code in capitals, e.g. USD');

/** A Salesforce custom field API name (`Something__c`). */
const customField = text(
  /^[A-Za-z][A-Za-z0-9_]*__c$/,
  'a custom field API name ends in __c, e.g. D365_Customer_Key__c',
);

const fieldName = text(/^[A-Za-z][A-Za-z0-9_.]*$/, 'a field API name: letters, digits, underscores');

const flowToggle = z.strictObject({ enabled: z._default(z.boolean(), true) });
const enabled = { enabled: true } as const;

/**
 * One rule that picks a legal entity for a Salesforce record; the first rule that yields a
 * configured one wins: a field on the Account, the billing country code, or a default.
 */
const legalEntityRule = z.union([
  z.strictObject({ field: fieldName }),
  z.strictObject({
    billingCountry: z.record(text(/^[A-Z]{2}$/, 'ISO 3166 alpha-2 country code'), legalEntityId),
  }),
  z.strictObject({ default: legalEntityId }),
]);

/**
 * One flow's mapping: target field → expression (functions/core/mapping/expression.ts, described in
 * docs/MAPPING.md), or null to remove the flow's default for that target.
 */
const fieldMapping = z.record(fieldName, z.unknown()).check(
  z.superRefine((mapping, ctx) => {
    for (const [target, expr] of Object.entries(mapping)) {
      if (expr === null) continue;
      for (const message of exprProblems(expr, target))
        ctx.addIssue({ code: 'custom', message, input: expr });
    }
  }),
);

/** F&O data events through Dataverse: virtual tables `mserp_<data entity name>`, attributes `mserp_<field>` (UNCONFIRMED names). */
const DEFAULT_DATA_EVENTS = {
  mserp_custcustomerv3entity: {
    entity: 'CustomersV3',
    legalEntityAttribute: 'mserp_dataareaid',
    keyAttributes: { CustomerAccount: 'mserp_customeraccount' },
  },
  mserp_ecoresreleasedproductv2entity: {
    entity: 'ReleasedProductsV2',
    legalEntityAttribute: 'mserp_dataareaid',
    keyAttributes: { ItemNumber: 'mserp_itemnumber' },
  },
} as const;

/**
 * F&O's standard business events that move a sales order on, and the payload field holding its
 * sales order number. SalesInvoicePostedBusinessEvent and its `SalesOrderId` member are Microsoft's
 * (Learn, "Business events developer documentation": the "Sales order invoice posted" event and
 * its contract). The confirmation and packing slip ids and their payload field are UNCONFIRMED
 * (no primary source found): check them in Business events > Business event catalog and set them
 * here. Every event is a stub: the worker reads the order and its invoices over OData.
 */
export const DEFAULT_ORDER_EVENTS = {
  SalesInvoicePostedBusinessEvent: { salesOrderField: 'SalesOrderId' },
  SalesOrderConfirmedBusinessEvent: { salesOrderField: 'SalesOrderId' },
  SalesOrderPackingSlipPostedBusinessEvent: { salesOrderField: 'SalesOrderId' },
} as const;

/**
 * Salesforce fields the order status is written to on the Opportunity or Order: a key left out
 * takes its default ({@link DEFAULT_ORDER_STATUS_TARGETS}), null writes nothing there. Defaults
 * are applied where the config is read (core/mapping/order-status.ts), so an unchanged block stays
 * small in a Lambda's 4 KB environment.
 */
const orderStatusTargets = z.strictObject({
  status: z.optional(z.nullable(customField)),
  invoiceNumber: z.optional(z.nullable(customField)),
  invoiceDate: z.optional(z.nullable(customField)),
  invoicedAmount: z.optional(z.nullable(customField)),
});
export const DEFAULT_ORDER_STATUS_TARGETS = {
  status: 'D365_Order_Status__c',
  invoiceNumber: 'D365_Invoice_Number__c',
  invoiceDate: 'D365_Invoice_Date__c',
  invoicedAmount: 'D365_Invoiced_Amount__c',
} as const;
/** SalesStatus member → the value written to the status field. */
export const DEFAULT_STATUS_VALUES = {
  None: 'Open',
  Backorder: 'Open',
  Delivered: 'Delivered',
  Invoiced: 'Invoiced',
  Canceled: 'Cancelled',
} as const;
const statusValue = z.string().check(z.minLength(1), z.maxLength(255));

/** An F&O OData field name (an identifier, as in the entity's $metadata). */
const odataField = text(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an OData field name: letters, digits, underscores');

export const configSchema = z.strictObject({
  dynamics: z.strictObject({
    /** e.g. contoso.operations.dynamics.com */
    environment: nonEmpty(),
    tenantId: nonEmpty(),
    authorityHost: z._default(z.string(), 'https://login.microsoftonline.com'),
  }),
  salesforce: z.strictObject({
    /** The org's My Domain URL, e.g. https://acme.my.salesforce.com */
    myDomain: nonEmpty(),
    apiVersion: z._default(text(/^\d{2}\.0$/, 'an API version like 63.0'), '63.0'),
    /** Sent as Sforce-Call-Options client=<id> on every write, to recognise our own CDC echoes. */
    callOptionsClient: z._default(
      text(/^[A-Za-z0-9_-]{1,40}$/, 'letters, digits, _ or -, at most 40'),
      'ml-connector',
    ),
    /** Calls left for people: the connector stops writing before the daily allocation falls below this. */
    apiReserve: z._default(int(0), 5000),
    pubsubEndpoint: z._default(z.string(), 'api.pubsub.salesforce.com:7443'),
  }),
  flows: z._default(
    z.strictObject({
      customers: z._default(flowToggle, enabled),
      products: z._default(flowToggle, enabled),
      wonOpportunities: z._default(flowToggle, enabled),
      activatedOrders: z._default(flowToggle, enabled),
      accountWriteBack: z._default(flowToggle, enabled),
    }),
    {
      customers: enabled,
      products: enabled,
      wonOpportunities: enabled,
      activatedOrders: enabled,
      accountWriteBack: enabled,
    },
  ),
  externalIds: z._default(
    z.strictObject({
      account: z._default(customField, 'D365_Customer_Key__c'),
      product: z._default(customField, 'D365_Item_Key__c'),
      /** Where the Dynamics sales order number is written back on the Opportunity / Order. */
      opportunitySalesOrder: z._default(customField, 'D365_Sales_Order__c'),
      orderSalesOrder: z._default(customField, 'D365_Sales_Order__c'),
      /**
       * `legalEntityPrefixed` (default): every value is `<dataAreaId>:<id>`, stable when legal
       * entities are added. `legacy`: the id alone while one legal entity is synced (earlier
       * versions); `ml-connector migrate-keys` moves existing values to the prefixed form.
       */
      format: z._default(z.enum(['legalEntityPrefixed', 'legacy']), 'legalEntityPrefixed'),
    }),
    {
      account: 'D365_Customer_Key__c',
      product: 'D365_Item_Key__c',
      opportunitySalesOrder: 'D365_Sales_Order__c',
      orderSalesOrder: 'D365_Sales_Order__c',
      format: 'legalEntityPrefixed',
    },
  ),
  legalEntities: z.array(legalEntityId).check(z.minLength(1, 'list at least one legal entity to sync')),
  legalEntityRules: z._default(z.array(legalEntityRule), []),
  currencies: z._default(
    z.strictObject({
      /** Dynamics currency code → Salesforce CurrencyIsoCode, where they differ. */
      map: z._default(z.record(currencyCode, currencyCode), {}),
      /** Salesforce price book currencies to create entries in; default: each synced legal entity's currency. */
      priceBook: z._default(z.array(currencyCode), []),
    }),
    { map: {}, priceBook: [] },
  ),
  accountWriteBack: z._default(
    z.strictObject({
      /**
       * The CustomersV3 field that carries the Salesforce Account Id of a customer created from an
       * Account: the write-back looks the customer up by it before creating, so a retry never
       * creates a second one. Default IdentificationNumber (a free-text identifier F&O does not
       * fill itself; a company that uses it for a national id picks another text field of 18+).
       */
      salesforceIdField: z._default(odataField, 'IdentificationNumber'),
      /**
       * Unset (the default): F&O assigns the CustomerAccount from its number sequence. Set: the
       * connector chooses `<prefix><n>` (`SF-000001`, …), which F&O accepts only when the customer
       * account number sequence is Manual or allows changes (see `prefixAllowedBySequence`).
       */
      customerAccountPrefix: z.optional(
        text(
          /^[A-Za-z0-9-]{1,8}$/,
          'up to 8 letters, digits or hyphens (the number adds 6 digits; F&O allows 20)',
        ),
      ),
      /**
       * Your confirmation that each synced legal entity's customer account number sequence is
       * Manual (or allows changes) so it accepts the prefixed numbers: F&O exposes no entity for
       * number sequence settings that `ping` could read. Default false.
       */
      prefixAllowedBySequence: z._default(z.boolean(), false),
    }),
    { salesforceIdField: 'IdentificationNumber', prefixAllowedBySequence: false },
  ),
  salesOrders: z._default(
    z.strictObject({
      /**
       * The SalesOrderLines field that carries the Salesforce line id (OpportunityLineItem /
       * OrderItem Id); existing lines are matched on it, so a retry never duplicates a line
       * whatever LineNumber F&O assigned. Default OrderLineReference.
       */
      lineIdField: z._default(odataField, 'OrderLineReference'),
      /**
       * Which Salesforce object of a deal becomes its one sales order when an org creates Orders
       * from Opportunities (Order.OpportunityId): `first` (whichever is won/activated first; the
       * other gets the same number), `opportunity` (an Order of an Opportunity never creates one),
       * `order` (an Opportunity that has Orders never creates one). Default first.
       */
      dealPrecedence: z._default(z.enum(['first', 'opportunity', 'order']), 'first'),
      /**
       * How long a worker holds a sales order's lease without renewing it, in seconds. Renewed
       * before every write and every re-send of one, so it must outlast one HTTP attempt (the
       * time-out is 60 s): at least 90. Default 120.
       */
      leaseSeconds: z._default(int(90, 3600), 120),
    }),
    { lineIdField: 'OrderLineReference', dealPrecedence: 'first', leaseSeconds: 120 },
  ),
  customerGroups: z._default(
    z.strictObject({
      default: z.string().check(z.minLength(1), z.maxLength(10)),
      byLegalEntity: z._default(
        z.record(legalEntityId, z.string().check(z.minLength(1), z.maxLength(10))),
        {},
      ),
    }),
    { default: '10', byLegalEntity: {} },
  ),
  products: z._default(
    z.strictObject({
      /**
       * Where Product2.Name (and Description) come from: ReleasedProductsV2 has no product name.
       * `translation` (default): ProductTranslations' ProductName and Description in `language`,
       * falling back to SearchName; `searchName` / `productSearchName`: that search-name field
       * (no Description is sent).
       */
      name: z._default(
        z.strictObject({
          source: z._default(z.enum(['translation', 'searchName', 'productSearchName']), 'translation'),
          /** The ProductTranslations LanguageId read with `source: translation`, e.g. en-us or de. */
          language: z._default(
            z.pipe(
              text(/^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$/, 'a language id like en-us or de'),
              z.transform((s: string) => s.toLowerCase()),
            ),
            'en-us',
          ),
        }),
        { source: 'translation', language: 'en-us' },
      ),
    }),
    { name: { source: 'translation', language: 'en-us' } },
  ),
  /**
   * The status of master data in Salesforce (functions/core/mapping/lifecycle.ts): the customer's
   * hold on its Account, and which released products are inactive (Product2.IsActive false, price
   * book entries deactivated).
   */
  lifecycle: z._default(
    z.strictObject({
      customerHold: z._default(
        z.strictObject({
          /** The Account field that carries CustomersV3 OnHoldStatus; null: holds are not synced. */
          field: z._default(z.nullable(fieldName), 'D365_Hold_Status__c'),
          /** OnHoldStatus member (CustVendorBlocked) → the value written; a member not listed writes its name. */
          values: z._default(
            z.record(nonEmpty(), z.union([z.string(), z.boolean(), z.null()])),
            DEFAULT_HOLD_VALUES,
          ),
        }),
        { field: 'D365_Hold_Status__c', values: DEFAULT_HOLD_VALUES },
      ),
      products: z._default(
        z.strictObject({
          /** ProductLifecycleStateId values (the customer's own states) that make a product inactive. */
          inactiveStates: z._default(z.array(nonEmpty()), []),
          /** ReleasedProductsV2 NoYes fields that make a product inactive when Yes (none by default). */
          stoppedFlags: z._default(z.array(odataField), []),
        }),
        { inactiveStates: [], stoppedFlags: [] },
      ),
      /**
       * A customer or product deleted in F&O (seen when its stub finds no record, e.g. from a
       * delete data event): `mark` (default) writes `accountValue` into the hold field of its
       * Account, or deactivates its Product2 and price book entries; `ignore` leaves Salesforce
       * as it is. The connector never deletes in Salesforce.
       */
      deleted: z._default(
        z.strictObject({
          action: z._default(z.enum(['mark', 'ignore']), 'mark'),
          accountValue: z._default(z.union([nonEmpty(), z.boolean()]), 'Deleted'),
        }),
        { action: 'mark', accountValue: 'Deleted' },
      ),
    }),
    {
      customerHold: { field: 'D365_Hold_Status__c', values: DEFAULT_HOLD_VALUES },
      products: { inactiveStates: [], stoppedFlags: [] },
      deleted: { action: 'mark', accountValue: 'Deleted' },
    },
  ),
  mappings: z._default(
    z.strictObject({
      /** Account field ← expression over CustomersV3, laid over the defaults (docs/MAPPING.md). */
      customers: z._default(fieldMapping, {}),
      /** Product2 field ← expression over ReleasedProductsV2 (and `Translation.`). */
      products: z._default(fieldMapping, {}),
      /** PricebookEntry field ← expression over ReleasedProductsV2 (UnitPrice). */
      priceBookEntries: z._default(fieldMapping, {}),
      /** SalesOrderHeadersV2 field ← expression over the Opportunity / Order (relationship paths allowed). */
      salesOrders: z._default(fieldMapping, {}),
      /** SalesOrderLines field ← expression over the line (`Product2.`, `parent.` for the header record). */
      salesOrderLines: z._default(fieldMapping, {}),
      /** CustomersV3 field ← expression over the Account (relationship paths allowed). */
      accountWriteBack: z._default(fieldMapping, {}),
    }),
    {
      customers: {},
      products: {},
      priceBookEntries: {},
      salesOrders: {},
      salesOrderLines: {},
      accountWriteBack: {},
    },
  ),
  businessEvents: z._default(
    z.strictObject({
      /** BusinessEventId → the entity it announces and where its key fields are in the payload. */
      events: z._default(
        z.record(
          nonEmpty(),
          z.strictObject({
            entity: z.enum(['CustomersV3', 'ReleasedProductsV2']),
            /** Entity key field → payload field, e.g. { CustomerAccount: CustomerAccount }. dataAreaId defaults to BusinessEventLegalEntity. */
            keyFields: z.record(nonEmpty(), nonEmpty()),
          }),
        ),
        {},
      ),
      /**
       * Data events that arrive through Dataverse (RemoteExecutionContext bodies): the virtual
       * table's logical name → the entity, and the Target attributes holding its legal entity and
       * key fields. The default names are UNCONFIRMED (see docs/CONFIGURATION.md).
       */
      dataEvents: z._default(
        z.record(
          text(/^[a-z][a-z0-9_]*$/, 'a Dataverse logical name: lower case, e.g. mserp_custcustomerv3entity'),
          z.strictObject({
            entity: z.enum(['CustomersV3', 'ReleasedProductsV2']),
            legalEntityAttribute: z._default(nonEmpty(), 'mserp_dataareaid'),
            /** Entity key field (besides dataAreaId) → Target attribute, e.g. { CustomerAccount: mserp_customeraccount }. */
            keyAttributes: z.record(nonEmpty(), nonEmpty()),
          }),
        ),
        DEFAULT_DATA_EVENTS,
      ),
      maxBodyBytes: z._default(int(1024, 1_048_576), 262_144),
      /** How long a (legal entity, ControlNumber) pair is remembered for dedup, in seconds. */
      dedupTtlSeconds: z._default(int(60), 7 * 24 * 3600),
    }),
    { events: {}, dataEvents: DEFAULT_DATA_EVENTS, maxBodyBytes: 262_144, dedupTtlSeconds: 7 * 24 * 3600 },
  ),
  orderStatus: z._default(
    z.strictObject({
      /** Follow the sales orders the connector created and write their status and invoices back. */
      enabled: z._default(z.boolean(), true),
      /** Target fields on the Opportunity and on the Order (defaults: DEFAULT_ORDER_STATUS_TARGETS). */
      fields: z.optional(
        z.strictObject({
          Opportunity: z.optional(orderStatusTargets),
          Order: z.optional(orderStatusTargets),
        }),
      ),
      /** SalesStatus member (None, Backorder, Delivered, Invoiced, Canceled) → the value written (defaults: DEFAULT_STATUS_VALUES). */
      statusValues: z.optional(
        z.strictObject({
          None: z.optional(statusValue),
          Backorder: z.optional(statusValue),
          Delivered: z.optional(statusValue),
          Invoiced: z.optional(statusValue),
          Canceled: z.optional(statusValue),
        }),
      ),
      /**
       * BusinessEventId → the payload field holding the sales order number (the legal entity is
       * BusinessEventLegalEntity). Replaces DEFAULT_ORDER_EVENTS when given.
       */
      events: z.optional(z.record(nonEmpty(), z.strictObject({ salesOrderField: nonEmpty() }))),
      /** Minutes between polls of the open orders (the backfill behind the events). */
      pollMinutes: z._default(int(5, 1440), 60),
      /** Orders refreshed together: one header read, one invoice read and one Collections call each (≤ 200). */
      pollChunk: z._default(int(1, 200), 200),
    }),
    { enabled: true, pollMinutes: 60, pollChunk: 200 },
  ),
  schedules: z._default(
    z.strictObject({
      /** Minutes between backfill polls. */
      backfillMinutes: z._default(int(1, 1440), 15),
      /** Seconds re-read before each SOQL watermark, so commits in the same second are not missed. */
      watermarkOverlapSeconds: z._default(int(0, 3600), 60),
      /**
       * Days between drift repairs (`sync --reconcile`), run by the backfill schedule when due;
       * 0 turns the scheduled repair off. Default 7 (weekly).
       */
      reconcileDays: z._default(int(0, 365), 7),
    }),
    { backfillMinutes: 15, watermarkOverlapSeconds: 60, reconcileDays: 7 },
  ),
  batches: z._default(
    z.strictObject({
      /** Records per sObject Collections call (Salesforce's maximum is 200). */
      collectionsSize: z._default(int(1, 200), 200),
      /** Above this many records in one job, upsert through Bulk API 2.0. */
      bulkThreshold: z._default(int(1), 5000),
      /**
       * Bytes of CSV per Bulk API 2.0 job in the initial load: one job per object, a new one past
       * this. Salesforce takes 150 MB of base64 per job upload (≈ 112 MB of CSV) and advises 100 MB.
       */
      bulkJobMaxBytes: z._default(int(1024, 117_964_800), 104_857_600),
      /** Sales orders written into Dynamics at once. */
      toDynamicsConcurrency: z._default(int(1, 32), 4),
      /** OData URL length kept under when reading by key sets. */
      maxODataUrlLength: z._default(int(512, 16_384), 2048),
      /** Send the URL-length chunks of a read by keys together in OData `$batch` requests. */
      odataBatchReads: z._default(z.boolean(), true),
    }),
    {
      collectionsSize: 200,
      bulkThreshold: 5000,
      bulkJobMaxBytes: 104_857_600,
      toDynamicsConcurrency: 4,
      maxODataUrlLength: 2048,
      odataBatchReads: true,
    },
  ),
  /** An OData field holding a modified timestamp, per entity, where the customer added one. */
  modifiedFields: z._default(
    z.strictObject({ CustomersV3: z.optional(fieldName), ReleasedProductsV2: z.optional(fieldName) }),
    {},
  ),
});

export type ConnectorConfig = z.output<typeof configSchema>;
export type ConnectorConfigInput = z.input<typeof configSchema>;
