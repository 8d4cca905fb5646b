/**
 * The connector's configuration: one documented schema for the local file and the AWS stage
 * config, validated once into a frozen typed object. Secrets never live here: credentials come
 * from the Secrets port (Secrets Manager on AWS, an encrypted 0600 file or env locally).
 * Written with zod/mini (the same validation as zod, about 20 KiB instead of 450 KiB in a bundle).
 */
import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.js';

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

const fieldMapping = z.record(fieldName, fieldName);

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
    }),
    {
      account: 'D365_Customer_Key__c',
      product: 'D365_Item_Key__c',
      opportunitySalesOrder: 'D365_Sales_Order__c',
      orderSalesOrder: 'D365_Sales_Order__c',
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
    }),
    { lineIdField: 'OrderLineReference' },
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
  mappings: z._default(
    z.strictObject({
      /** Extra Salesforce field ← Dynamics field pairs, added to the defaults. */
      customers: z._default(fieldMapping, {}),
      products: z._default(fieldMapping, {}),
      /** Extra Dynamics field ← Salesforce field pairs for sales order headers. */
      salesOrders: z._default(fieldMapping, {}),
      accountWriteBack: z._default(fieldMapping, {}),
    }),
    { customers: {}, products: {}, salesOrders: {}, accountWriteBack: {} },
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
  schedules: z._default(
    z.strictObject({
      /** Minutes between backfill polls. */
      backfillMinutes: z._default(int(1, 1440), 15),
      /** Seconds re-read before each SOQL watermark, so commits in the same second are not missed. */
      watermarkOverlapSeconds: z._default(int(0, 3600), 60),
    }),
    { backfillMinutes: 15, watermarkOverlapSeconds: 60 },
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
