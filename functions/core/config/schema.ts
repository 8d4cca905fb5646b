/**
 * The connector's configuration: one documented schema for the local file and the AWS stage
 * config, validated once into a frozen typed object. Secrets never live here: credentials come
 * from the Secrets port (Secrets Manager on AWS, an encrypted 0600 file or env locally).
 */
import { z } from 'zod';

const legalEntityId = z
  .string()
  .regex(/^[A-Za-z0-9]{1,4}$/, 'a legal entity (dataAreaId) is 1-4 letters or digits, e.g. usmf')
  .transform((s) => s.toLowerCase());

const currencyCode = z
  .string()
  .regex(/^[A-Z]{3}$/, 'a currency is a 3-letter ISO code in capitals, e.g. USD');

/** A Salesforce custom field API name (`Something__c`). */
const customField = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_]*__c$/, 'a custom field API name ends in __c, e.g. D365_Customer_Key__c');

const fieldName = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_.]*$/, 'a field API name: letters, digits, underscores');

const flowToggle = z.object({ enabled: z.boolean().default(true) }).strict();

/** One rule that picks a legal entity for a Salesforce record; the first rule that yields a configured one wins. */
const legalEntityRule = z.union([
  z.object({ field: fieldName }).strict().describe('take the legal entity from this field on the Account'),
  z
    .object({
      billingCountry: z.record(
        z.string().regex(/^[A-Z]{2}$/, 'ISO 3166 alpha-2 country code'),
        legalEntityId,
      ),
    })
    .strict()
    .describe('map the Account billing country code to a legal entity'),
  z.object({ default: legalEntityId }).strict().describe('the legal entity when no other rule matched'),
]);

const fieldMapping = z.record(fieldName, fieldName);

export const configSchema = z
  .object({
    dynamics: z
      .object({
        /** e.g. contoso.operations.dynamics.com */
        environment: z.string().min(1),
        tenantId: z.string().min(1),
        authorityHost: z.string().default('https://login.microsoftonline.com'),
      })
      .strict(),
    salesforce: z
      .object({
        /** The org's My Domain URL, e.g. https://acme.my.salesforce.com */
        myDomain: z.string().min(1),
        apiVersion: z
          .string()
          .regex(/^\d{2}\.0$/, 'an API version like 63.0')
          .default('63.0'),
        /** Sent as Sforce-Call-Options client=<id> on every write, to recognise our own CDC echoes. */
        callOptionsClient: z
          .string()
          .regex(/^[A-Za-z0-9_-]{1,40}$/)
          .default('ml-connector'),
        /** Calls left for people: the connector stops writing before the daily allocation falls below this. */
        apiReserve: z.number().int().min(0).default(5000),
        pubsubEndpoint: z.string().default('api.pubsub.salesforce.com:7443'),
      })
      .strict(),
    flows: z
      .object({
        customers: flowToggle.default({ enabled: true }),
        products: flowToggle.default({ enabled: true }),
        wonOpportunities: flowToggle.default({ enabled: true }),
        activatedOrders: flowToggle.default({ enabled: true }),
        accountWriteBack: flowToggle.default({ enabled: true }),
      })
      .strict()
      .default({
        customers: { enabled: true },
        products: { enabled: true },
        wonOpportunities: { enabled: true },
        activatedOrders: { enabled: true },
        accountWriteBack: { enabled: true },
      }),
    externalIds: z
      .object({
        account: customField.default('D365_Customer_Key__c'),
        product: customField.default('D365_Item_Key__c'),
        /** Where the Dynamics sales order number is written back on the Opportunity / Order. */
        opportunitySalesOrder: customField.default('D365_Sales_Order__c'),
        orderSalesOrder: customField.default('D365_Sales_Order__c'),
      })
      .strict()
      .default({
        account: 'D365_Customer_Key__c',
        product: 'D365_Item_Key__c',
        opportunitySalesOrder: 'D365_Sales_Order__c',
        orderSalesOrder: 'D365_Sales_Order__c',
      }),
    legalEntities: z.array(legalEntityId).min(1, 'list at least one legal entity to sync'),
    legalEntityRules: z.array(legalEntityRule).default([]),
    currencies: z
      .object({
        /** Dynamics currency code → Salesforce CurrencyIsoCode, where they differ. */
        map: z.record(currencyCode, currencyCode).default({}),
        /** Salesforce price book currencies to create entries in; default: each synced legal entity's currency. */
        priceBook: z.array(currencyCode).default([]),
      })
      .strict()
      .default({ map: {}, priceBook: [] }),
    accountWriteBack: z
      .object({
        /**
         * Prefix of the CustomerAccount numbers the connector gives customers it creates from
         * Salesforce Accounts (`SF-000001`, …): numbers that cannot collide with F&O's own sequence.
         */
        customerAccountPrefix: z
          .string()
          .regex(
            /^[A-Za-z0-9-]{0,8}$/,
            'up to 8 letters, digits or hyphens (the number adds 6 digits; F&O allows 20)',
          )
          .default('SF-'),
      })
      .strict()
      .default({ customerAccountPrefix: 'SF-' }),
    customerGroups: z
      .object({
        default: z.string().min(1).max(10),
        byLegalEntity: z.record(legalEntityId, z.string().min(1).max(10)).default({}),
      })
      .strict()
      .default({ default: '10', byLegalEntity: {} }),
    mappings: z
      .object({
        /** Extra Salesforce field ← Dynamics field pairs, added to the defaults. */
        customers: fieldMapping.default({}),
        products: fieldMapping.default({}),
        /** Extra Dynamics field ← Salesforce field pairs for sales order headers. */
        salesOrders: fieldMapping.default({}),
        accountWriteBack: fieldMapping.default({}),
      })
      .strict()
      .default({ customers: {}, products: {}, salesOrders: {}, accountWriteBack: {} }),
    businessEvents: z
      .object({
        /** BusinessEventId → the entity it announces and where its key fields are in the payload. */
        events: z
          .record(
            z.string().min(1),
            z
              .object({
                entity: z.enum(['CustomersV3', 'ReleasedProductsV2']),
                /** Entity key field → payload field, e.g. { CustomerAccount: CustomerAccount }. dataAreaId defaults to BusinessEventLegalEntity. */
                keyFields: z.record(z.string().min(1), z.string().min(1)),
              })
              .strict(),
          )
          .default({}),
        maxBodyBytes: z.number().int().min(1024).max(1_048_576).default(262_144),
        /** How long a (legal entity, ControlNumber) pair is remembered for dedup, in seconds. */
        dedupTtlSeconds: z
          .number()
          .int()
          .min(60)
          .default(7 * 24 * 3600),
      })
      .strict()
      .default({ events: {}, maxBodyBytes: 262_144, dedupTtlSeconds: 7 * 24 * 3600 }),
    schedules: z
      .object({
        /** Minutes between backfill polls. */
        backfillMinutes: z.number().int().min(1).max(1440).default(15),
        /** Seconds re-read before each SOQL watermark, so commits in the same second are not missed. */
        watermarkOverlapSeconds: z.number().int().min(0).max(3600).default(60),
      })
      .strict()
      .default({ backfillMinutes: 15, watermarkOverlapSeconds: 60 }),
    batches: z
      .object({
        /** Records per sObject Collections call (Salesforce's maximum is 200). */
        collectionsSize: z.number().int().min(1).max(200).default(200),
        /** Above this many records in one job, upsert through Bulk API 2.0. */
        bulkThreshold: z.number().int().min(1).default(5000),
        /** Sales orders written into Dynamics at once. */
        toDynamicsConcurrency: z.number().int().min(1).max(32).default(4),
        /** OData URL length kept under when reading by key sets. */
        maxODataUrlLength: z.number().int().min(512).max(16_384).default(2048),
      })
      .strict()
      .default({
        collectionsSize: 200,
        bulkThreshold: 5000,
        toDynamicsConcurrency: 4,
        maxODataUrlLength: 2048,
      }),
    /** An OData field holding a modified timestamp, per entity, where the customer added one. */
    modifiedFields: z
      .object({ CustomersV3: fieldName.optional(), ReleasedProductsV2: fieldName.optional() })
      .strict()
      .default({}),
  })
  .strict();

export type ConnectorConfig = z.output<typeof configSchema>;
export type ConnectorConfigInput = z.input<typeof configSchema>;
