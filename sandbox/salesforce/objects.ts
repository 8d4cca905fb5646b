/**
 * The Salesforce sandbox's org schema: the objects the connector touches, their fields as
 * `describe` reports them, and the custom External ID fields. This is the one source of truth
 * shared by the REST sandbox (describe, validation, SOQL), the Pub/Sub sandbox (Avro change-event
 * schemas) and the tests.
 * Field types follow the REST describe `type` values:
 * https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/field_types.htm
 */
import { SANDBOX_COUNTRIES, stateEntries } from './address-picklists.ts';

const STATES = stateEntries();

export type FieldType =
  | 'id'
  | 'string'
  | 'textarea'
  | 'picklist'
  | 'phone'
  | 'url'
  | 'email'
  | 'boolean'
  | 'int'
  | 'double'
  | 'currency'
  | 'percent'
  | 'date'
  | 'datetime'
  | 'reference'
  | 'address';

export interface FieldDef {
  readonly name: string;
  readonly type: FieldType;
  readonly label: string;
  /** Max length for text types. */
  readonly length?: number;
  readonly nillable: boolean;
  readonly createable: boolean;
  readonly updateable: boolean;
  /** Required on create: not nillable, createable, and without a default. */
  readonly required?: boolean;
  readonly externalId?: boolean;
  readonly unique?: boolean;
  /** For `reference` fields: the target object(s) and the relationship name (`Account` for `AccountId`). */
  readonly referenceTo?: readonly string[];
  readonly relationshipName?: string;
  /** For a component of a compound field (e.g. BillingCity), the compound's name (BillingAddress). */
  readonly compoundFieldName?: string;
  /** Picklist values, when the field is a picklist. */
  readonly picklistValues?: readonly string[];
  /** Present only when the org has multi-currency enabled. */
  readonly multiCurrencyOnly?: boolean;
  /** Present only when the org has State and Country/Territory Picklists enabled (the `…Code` fields). */
  readonly addressPicklistOnly?: boolean;
  /** Picklist labels by value, where they differ from the value (country and state names). */
  readonly picklistLabels?: Readonly<Record<string, string>>;
  /** A dependent picklist: the controlling field and, per value, the controlling values it is valid for. */
  readonly controllerName?: string;
  readonly validFor?: Readonly<Record<string, readonly string[]>>;
}

export interface ChildRelationship {
  readonly relationshipName: string;
  readonly childSObject: string;
  readonly field: string;
}

export interface ObjectDef {
  readonly name: string;
  readonly label: string;
  /** The 3-character id prefix (`001` for Account). */
  readonly keyPrefix: string;
  readonly fields: readonly FieldDef[];
  readonly childRelationships: readonly ChildRelationship[];
  /** Whether Change Data Capture events are published for this object (the sandbox's CDC selection). */
  readonly cdc: boolean;
}

const sys = (name: string, type: FieldType, label: string): FieldDef => ({
  name,
  type,
  label,
  nillable: type !== 'boolean' && name !== 'Id',
  createable: false,
  updateable: false,
});

const text = (
  name: string,
  label: string,
  length: number,
  extra: Partial<FieldDef> = {},
  type: FieldType = 'string',
): FieldDef => ({ name, type, label, length, nillable: true, createable: true, updateable: true, ...extra });

/** A createable, updateable field (nillable unless boolean), as Setup creates a custom field. */
export const field = (
  name: string,
  type: FieldType,
  label: string,
  extra: Partial<FieldDef> = {},
): FieldDef => ({
  name,
  type,
  label,
  nillable: type !== 'boolean',
  createable: true,
  updateable: true,
  ...extra,
});

const ref = (name: string, target: string, extra: Partial<FieldDef> = {}): FieldDef => ({
  name,
  type: 'reference',
  label: `${target} ID`,
  length: 18,
  nillable: true,
  createable: true,
  updateable: true,
  referenceTo: [target],
  relationshipName: name.endsWith('Id') ? name.slice(0, -2) : name.replace(/__c$/, '__r'),
  ...extra,
});

const required = { nillable: false, required: true } as const;

/** Standard audit fields every object has. */
const auditFields = (): FieldDef[] => [
  sys('Id', 'id', 'Record ID'),
  sys('IsDeleted', 'boolean', 'Deleted'),
  sys('CreatedDate', 'datetime', 'Created Date'),
  ref('CreatedById', 'User', { createable: false, updateable: false }),
  sys('LastModifiedDate', 'datetime', 'Last Modified Date'),
  ref('LastModifiedById', 'User', { createable: false, updateable: false }),
  sys('SystemModstamp', 'datetime', 'System Modstamp'),
];

const currencyIso = (): FieldDef =>
  field('CurrencyIsoCode', 'picklist', 'Currency ISO Code', {
    length: 3,
    multiCurrencyOnly: true,
    picklistValues: ['USD', 'EUR', 'GBP', 'CAD', 'JPY', 'CHF'],
  });

const address = (prefix: 'Billing' | 'Shipping'): FieldDef[] => {
  const compound = `${prefix}Address`;
  return [
    text(`${prefix}Street`, `${prefix} Street`, 255, { compoundFieldName: compound }, 'textarea'),
    text(`${prefix}City`, `${prefix} City`, 40, { compoundFieldName: compound }),
    text(`${prefix}State`, `${prefix} State/Province`, 80, { compoundFieldName: compound }),
    text(`${prefix}PostalCode`, `${prefix} Zip/Postal Code`, 20, { compoundFieldName: compound }),
    text(`${prefix}Country`, `${prefix} Country`, 80, { compoundFieldName: compound }),
    text(
      `${prefix}StateCode`,
      `${prefix} State Code`,
      10,
      {
        compoundFieldName: compound,
        addressPicklistOnly: true,
        picklistValues: STATES.map((s) => s.value),
        picklistLabels: Object.fromEntries(STATES.map((s) => [s.value, s.label])),
        controllerName: `${prefix}CountryCode`,
        validFor: Object.fromEntries(STATES.map((s) => [s.value, [s.country]])),
      },
      'picklist',
    ),
    text(
      `${prefix}CountryCode`,
      `${prefix} Country Code`,
      10,
      {
        compoundFieldName: compound,
        addressPicklistOnly: true,
        picklistValues: Object.keys(SANDBOX_COUNTRIES),
        picklistLabels: SANDBOX_COUNTRIES,
      },
      'picklist',
    ),
    { ...sys(compound, 'address', `${prefix} Address`) },
  ];
};

/**
 * The custom fields a customer creates on Opportunity and Order for the sales order's status and
 * invoices (`orderStatus.fields`): text for the status and the invoice number, a date, a currency.
 */
function orderStatusFields(): FieldDef[] {
  return [
    text('D365_Order_Status__c', 'D365 Order Status', 40),
    text('D365_Invoice_Number__c', 'D365 Invoice Number', 40),
    field('D365_Invoice_Date__c', 'date', 'D365 Invoice Date'),
    field('D365_Invoiced_Amount__c', 'currency', 'D365 Invoiced Amount'),
  ];
}

/** The External ID and write-back custom fields the connector's default configuration uses. */
export const DEFAULT_CUSTOM_FIELDS = {
  Account: [
    text('D365_Customer_Key__c', 'D365 Customer Key', 80, { externalId: true, unique: true }),
    text('D365_Legal_Entity__c', 'D365 Legal Entity', 4),
    // lifecycle.customerHold.field: the F&O OnHoldStatus member while the customer is on hold.
    text('D365_Hold_Status__c', 'D365 Hold Status', 20),
  ],
  Product2: [text('D365_Item_Key__c', 'D365 Item Key', 80, { externalId: true, unique: true })],
  Opportunity: [text('D365_Sales_Order__c', 'D365 Sales Order', 40), ...orderStatusFields()],
  Order: [text('D365_Sales_Order__c', 'D365 Sales Order', 40), ...orderStatusFields()],
} as const satisfies Record<string, readonly FieldDef[]>;

/** The standard objects of the sandbox org, before custom fields are added. */
export const STANDARD_OBJECTS: readonly ObjectDef[] = [
  {
    name: 'Account',
    label: 'Account',
    keyPrefix: '001',
    cdc: true,
    fields: [
      ...auditFields(),
      text('Name', 'Account Name', 255, required),
      text('AccountNumber', 'Account Number', 40),
      text('Phone', 'Account Phone', 40, {}, 'phone'),
      text('Website', 'Website', 255, {}, 'url'),
      text('Industry', 'Industry', 255, {}, 'picklist'),
      text('Type', 'Account Type', 255, {}, 'picklist'),
      text('Description', 'Account Description', 32000, {}, 'textarea'),
      ...address('Billing'),
      ...address('Shipping'),
      ref('OwnerId', 'User'),
      currencyIso(),
    ],
    childRelationships: [
      { relationshipName: 'Opportunities', childSObject: 'Opportunity', field: 'AccountId' },
      { relationshipName: 'Orders', childSObject: 'Order', field: 'AccountId' },
    ],
  },
  {
    name: 'Product2',
    label: 'Product',
    keyPrefix: '01t',
    cdc: true,
    fields: [
      ...auditFields(),
      text('Name', 'Product Name', 255, required),
      text('ProductCode', 'Product Code', 255),
      text('Description', 'Product Description', 4000, {}, 'textarea'),
      field('IsActive', 'boolean', 'Active'),
      text('Family', 'Product Family', 255, {}, 'picklist'),
      text('QuantityUnitOfMeasure', 'Quantity Unit Of Measure', 255, {}, 'picklist'),
      currencyIso(),
    ],
    childRelationships: [
      { relationshipName: 'PricebookEntries', childSObject: 'PricebookEntry', field: 'Product2Id' },
    ],
  },
  {
    name: 'Pricebook2',
    label: 'Price Book',
    keyPrefix: '01s',
    cdc: false,
    fields: [
      ...auditFields(),
      text('Name', 'Price Book Name', 255, required),
      field('IsActive', 'boolean', 'Active'),
      sys('IsStandard', 'boolean', 'Is Standard Price Book'),
      text('Description', 'Description', 255),
    ],
    childRelationships: [
      { relationshipName: 'PricebookEntries', childSObject: 'PricebookEntry', field: 'Pricebook2Id' },
    ],
  },
  {
    name: 'PricebookEntry',
    label: 'Price Book Entry',
    keyPrefix: '01u',
    cdc: false,
    fields: [
      ...auditFields(),
      ref('Pricebook2Id', 'Pricebook2', { ...required, updateable: false }),
      ref('Product2Id', 'Product2', { ...required, updateable: false }),
      field('UnitPrice', 'currency', 'List Price', required),
      field('IsActive', 'boolean', 'Active'),
      field('UseStandardPrice', 'boolean', 'Use Standard Price'),
      sys('Name', 'string', 'Product Name'),
      sys('ProductCode', 'string', 'Product Code'),
      { ...currencyIso(), updateable: false },
    ],
    childRelationships: [],
  },
  {
    name: 'Opportunity',
    label: 'Opportunity',
    keyPrefix: '006',
    cdc: true,
    fields: [
      ...auditFields(),
      text('Name', 'Name', 120, required),
      ref('AccountId', 'Account'),
      field('CloseDate', 'date', 'Close Date', required),
      text(
        'StageName',
        'Stage',
        255,
        {
          ...required,
          picklistValues: [
            'Prospecting',
            'Qualification',
            'Needs Analysis',
            'Proposal/Price Quote',
            'Negotiation/Review',
            'Closed Won',
            'Closed Lost',
          ],
        },
        'picklist',
      ),
      sys('IsClosed', 'boolean', 'Closed'),
      sys('IsWon', 'boolean', 'Won'),
      field('Amount', 'currency', 'Amount'),
      field('Probability', 'percent', 'Probability (%)'),
      ref('Pricebook2Id', 'Pricebook2'),
      text('Description', 'Description', 32000, {}, 'textarea'),
      ref('OwnerId', 'User'),
      currencyIso(),
    ],
    childRelationships: [
      {
        relationshipName: 'OpportunityLineItems',
        childSObject: 'OpportunityLineItem',
        field: 'OpportunityId',
      },
      { relationshipName: 'Orders', childSObject: 'Order', field: 'OpportunityId' },
    ],
  },
  {
    name: 'OpportunityLineItem',
    label: 'Opportunity Product',
    keyPrefix: '00k',
    cdc: false,
    fields: [
      ...auditFields(),
      ref('OpportunityId', 'Opportunity', { ...required, updateable: false }),
      ref('PricebookEntryId', 'PricebookEntry', { updateable: false }),
      ref('Product2Id', 'Product2', { updateable: false }),
      field('Quantity', 'double', 'Quantity', required),
      field('UnitPrice', 'currency', 'Sales Price'),
      sys('ListPrice', 'currency', 'List Price'),
      field('TotalPrice', 'currency', 'Total Price'),
      // https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_opportunitylineitem.htm
      field('Discount', 'percent', 'Discount'),
      field('ServiceDate', 'date', 'Date'),
      sys('ProductCode', 'string', 'Product Code'),
      sys('Name', 'string', 'Opportunity Product Name'),
      text('Description', 'Line Description', 255),
      { ...currencyIso(), createable: false, updateable: false },
    ],
    childRelationships: [],
  },
  {
    name: 'Order',
    label: 'Order',
    keyPrefix: '801',
    cdc: true,
    fields: [
      ...auditFields(),
      ref('AccountId', 'Account', required),
      field('EffectiveDate', 'date', 'Order Start Date', required),
      text('Status', 'Status', 40, { ...required, picklistValues: ['Draft', 'Activated'] }, 'picklist'),
      sys('StatusCode', 'picklist', 'Status Category'),
      sys('ActivatedDate', 'datetime', 'Activated Date'),
      sys('OrderNumber', 'string', 'Order Number'),
      sys('TotalAmount', 'currency', 'Order Amount'),
      ref('Pricebook2Id', 'Pricebook2'),
      ref('OpportunityId', 'Opportunity'),
      text('PoNumber', 'PO Number', 80),
      text('Description', 'Description', 32000, {}, 'textarea'),
      ref('OwnerId', 'User'),
      currencyIso(),
    ],
    childRelationships: [{ relationshipName: 'OrderItems', childSObject: 'OrderItem', field: 'OrderId' }],
  },
  {
    name: 'OrderItem',
    label: 'Order Product',
    keyPrefix: '802',
    cdc: false,
    fields: [
      ...auditFields(),
      ref('OrderId', 'Order', { ...required, updateable: false }),
      ref('PricebookEntryId', 'PricebookEntry', { ...required, updateable: false }),
      ref('Product2Id', 'Product2', { updateable: false }),
      field('Quantity', 'double', 'Quantity', required),
      field('UnitPrice', 'currency', 'Unit Price', required),
      sys('ListPrice', 'currency', 'List Price'),
      sys('TotalPrice', 'currency', 'Total Price'),
      field('ServiceDate', 'date', 'Start Date'),
      text('Description', 'Line Description', 255),
      { ...currencyIso(), createable: false, updateable: false },
    ],
    childRelationships: [],
  },
];

/**
 * CurrencyType: the org's currencies, only in multi-currency orgs; read-only here (the seed holds
 * `currencies`). Fields from the object reference:
 * https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_currencytype.htm
 * The key prefix is UNCONFIRMED (no source found); nothing depends on it.
 */
export const CURRENCY_TYPE: ObjectDef = {
  name: 'CurrencyType',
  label: 'Currency Type',
  keyPrefix: '02G',
  cdc: false,
  fields: [
    ...auditFields(),
    text('IsoCode', 'Currency ISO Code', 3, { createable: false, updateable: false }, 'picklist'),
    field('ConversionRate', 'double', 'Conversion Rate', { createable: false, updateable: false }),
    field('DecimalPlaces', 'int', 'Decimal Places', { createable: false, updateable: false }),
    { ...sys('IsActive', 'boolean', 'Active') },
    { ...sys('IsCorporate', 'boolean', 'Corporate Currency') },
  ],
  childRelationships: [],
};

/** The objects that exist only when Orders are enabled (Setup > Order Settings). */
export const ORDER_OBJECTS: ReadonlySet<string> = new Set(['Order', 'OrderItem']);

export interface OrgSchemaOptions {
  /** Whether the org has multi-currency enabled (adds CurrencyIsoCode fields and CurrencyType). Default false. */
  readonly multiCurrency?: boolean;
  /**
   * Whether State and Country/Territory Picklists are enabled (adds the `…CountryCode` /
   * `…StateCode` address fields). Default true.
   */
  readonly stateCountryPicklists?: boolean;
  /** Whether Orders are enabled (Order and OrderItem exist). Default true. */
  readonly orders?: boolean;
  /** Custom fields per object; defaults to {@link DEFAULT_CUSTOM_FIELDS}. */
  readonly customFields?: Readonly<Record<string, readonly FieldDef[]>>;
}

/** The org's schema: standard objects plus custom fields, with multi-currency fields only when enabled. */
export function buildOrgSchema(options: OrgSchemaOptions = {}): ReadonlyMap<string, ObjectDef> {
  const custom: Readonly<Record<string, readonly FieldDef[]>> = options.customFields ?? DEFAULT_CUSTOM_FIELDS;
  const out = new Map<string, ObjectDef>();
  const picklists = options.stateCountryPicklists ?? true;
  const orders = options.orders ?? true;
  const objects = [...STANDARD_OBJECTS, ...(options.multiCurrency ? [CURRENCY_TYPE] : [])];
  for (const object of objects) {
    if (!orders && ORDER_OBJECTS.has(object.name)) continue;
    const fields = object.fields.filter(
      (f) => (options.multiCurrency || !f.multiCurrencyOnly) && (picklists || !f.addressPicklistOnly),
    );
    for (const extra of custom[object.name] ?? []) {
      if (!extra.name.endsWith('__c'))
        throw new Error(`custom field ${object.name}.${extra.name} must end in __c`);
      fields.push(extra);
    }
    const childRelationships = object.childRelationships.filter(
      (r) => orders || !ORDER_OBJECTS.has(r.childSObject),
    );
    out.set(object.name, { ...object, fields, childRelationships });
  }
  return out;
}
