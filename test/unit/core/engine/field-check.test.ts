import { describe, expect, it } from 'vitest';
import type { ConnectorConfigInput } from '#core/config/schema.ts';
import {
  checkDynamicsFields,
  checkMappingTargets,
  checkSalesforceFields,
  edmTypeServes,
  goLiveFieldCheck,
  sobjectsToDescribe,
} from '#core/engine/field-check.ts';
import { dynamicsFieldUses } from '#core/engine/field-uses.ts';
import { ENTITIES, edmTypeOf } from '#core/ports/dynamics/entities.ts';
import type { CsdlEntitySet, CsdlModel } from '#dynamics/metadata-csdl.ts';
import { parseDescribe, type SObjectDescribe } from '#salesforce/describe.ts';
import { testConfig } from '#test/support/config.ts';

/** An org as the check assumes it without a describe: single currency, no State and Country/Territory Picklists. */
const NO_PICKLISTS = { multiCurrency: false } as const;

const config = (extra: Partial<ConnectorConfigInput> = {}) => testConfig(extra);

/** A model in which every entity the connector declares has every declared field, typed as expected. */
function standardModel(): Record<string, CsdlEntitySet> {
  const sets: Record<string, CsdlEntitySet> = {};
  for (const e of Object.values(ENTITIES)) {
    const fields: Record<string, { type: string; nullable: boolean }> = {};
    for (const f of e.fields) {
      fields[f] = {
        type: edmTypeOf(e, f),
        nullable: !(e.keys as readonly string[]).includes(f),
      };
    }
    sets[e.name] = {
      name: e.name,
      entityType: `Microsoft.Dynamics.DataEntities.${e.name}`,
      key: [...e.keys],
      fields,
    };
  }
  return sets;
}

function withField(sets: Record<string, CsdlEntitySet>, entity: string, field: string, type: string) {
  const set = sets[entity] as CsdlEntitySet;
  sets[entity] = { ...set, fields: { ...set.fields, [field]: { type, nullable: true } } };
  return sets;
}

const model = (sets: Record<string, CsdlEntitySet>): CsdlModel => ({ entitySets: sets, enums: {} });

describe('checkDynamicsFields', () => {
  it('finds nothing when the environment has every field the connector declares', () => {
    expect(checkDynamicsFields(config(), model(standardModel()))).toEqual([]);
  });

  it('names a mapped field the entity lacks with its configuration key and fix', () => {
    const problems = checkDynamicsFields(
      config({ mappings: { customers: { Region__c: 'ZZ_Region' } } }),
      model(standardModel()),
    );
    expect(problems).toEqual([
      {
        key: 'mappings.customers.Region__c',
        problem: 'CustomersV3 has no field ZZ_Region',
        fix: 'add it to the entity by extension, or remove mappings.customers.Region__c',
      },
    ]);
  });

  it('accepts an extension field the customer added', () => {
    const sets = withField(standardModel(), 'CustomersV3', 'ZZ_Region', 'Edm.String');
    expect(
      checkDynamicsFields(config({ mappings: { customers: { Region__c: 'ZZ_Region' } } }), model(sets)),
    ).toEqual([]);
  });

  it('refuses a modified-timestamp field that is not a DateTimeOffset', () => {
    const sets = withField(standardModel(), 'CustomersV3', 'ZZ_Modified', 'Edm.String');
    const problems = checkDynamicsFields(
      config({ modifiedFields: { CustomersV3: 'ZZ_Modified' } }),
      model(sets),
    );
    expect(problems).toEqual([
      expect.objectContaining({
        key: 'modifiedFields.CustomersV3',
        problem:
          'CustomersV3.ZZ_Modified is Edm.String in this environment; the connector expects Edm.DateTimeOffset',
      }),
    ]);
  });

  it('reports a connector field missing from the environment and one of another kind', () => {
    const sets = standardModel();
    const products = sets.ReleasedProductsV2 as CsdlEntitySet;
    const { SearchName: _gone, ...fields } = products.fields;
    sets.ReleasedProductsV2 = {
      ...products,
      fields: { ...fields, SalesPrice: { type: 'Edm.String', nullable: true } },
    };
    const problems = checkDynamicsFields(config(), model(sets));
    expect(problems.map((p) => p.problem)).toEqual([
      'ReleasedProductsV2 has no field SearchName',
      'ReleasedProductsV2.SalesPrice is Edm.String in this environment; the connector expects Edm.Decimal',
    ]);
    expect(problems[0]?.key).toBe(
      'connector: ReleasedProductsV2 (functions/core/ports/dynamics/entities.ts)',
    );
  });

  it('reports an entity set that is not published and a key that differs', () => {
    const sets = standardModel();
    delete sets.SalesOrderLines;
    sets.Currencies = { ...(sets.Currencies as CsdlEntitySet), key: ['CurrencyCode', 'Name'] };
    const problems = checkDynamicsFields(config(), model(sets));
    expect(problems.map((p) => p.problem)).toEqual([
      "the entity set SalesOrderLines is not in this environment's $metadata",
      "Currencies's key is (CurrencyCode, Name) in this environment; the connector addresses it by (CurrencyCode)",
    ]);
  });

  it('refuses business-event key fields that are not the key of the entity', () => {
    const problems = checkDynamicsFields(
      config({
        businessEvents: {
          events: { CustChanged: { entity: 'CustomersV3', keyFields: { OrganizationName: 'Name' } } },
        },
      }),
      model(standardModel()),
    );
    expect(problems).toEqual([
      {
        key: 'businessEvents.events.CustChanged.keyFields.OrganizationName',
        problem:
          'OrganizationName is not a key field of CustomersV3 (its key is dataAreaId, CustomerAccount)',
        fix: "use the entity's key fields (dataAreaId, CustomerAccount) under businessEvents.events.CustChanged.keyFields",
      },
    ]);
  });

  it('skips the entities of disabled flows', () => {
    const sets = standardModel();
    delete sets.SalesOrderHeadersV2;
    delete sets.SalesOrderLines;
    const off = { enabled: false };
    const problems = checkDynamicsFields(
      config({ flows: { wonOpportunities: off, activatedOrders: off } }),
      model(sets),
    );
    expect(problems).toEqual([]);
  });

  it('lists every declared field of the connector with its expected type', () => {
    const uses = dynamicsFieldUses(config());
    expect(uses.find((u) => u.entity === 'SalesOrderLines' && u.field === 'LineNumber')).toMatchObject({
      access: 'read',
      type: 'Edm.Decimal',
      configured: false,
    });
    expect(uses.find((u) => u.entity === 'CustomersV3' && u.field === 'CustomerAccount')?.access).toBe('key');
  });
});

describe('edmTypeServes', () => {
  it('needs the exact type for keys and filters, and the same kind for values', () => {
    expect(edmTypeServes('enum:NoYes', 'Edm.String', 'read')).toBe(true);
    expect(edmTypeServes('enum:NoYes', 'Edm.String', 'filter')).toBe(false);
    expect(edmTypeServes('Edm.Decimal', 'Edm.Int32', 'write')).toBe(true);
    expect(edmTypeServes('Edm.Decimal', 'Edm.String', 'read')).toBe(false);
    expect(edmTypeServes('Edm.DateTimeOffset', 'Edm.DateTimeOffset', 'filter')).toBe(true);
  });
});

/** A describe with the given fields: [name, type, createable, updateable, picklist values]. */
function describeOf(
  name: string,
  fields: [string, string, boolean?, boolean?, string[]?][],
): SObjectDescribe {
  return parseDescribe({
    name,
    label: name,
    fields: fields.map(([f, type, createable = true, updateable = true, values = []]) => ({
      name: f,
      type,
      createable,
      updateable,
      picklistValues: values.map((value) => ({ value, active: true })),
    })),
  });
}

/** The custom fields orderStatus.fields writes by default on Opportunity and Order. */
const orderStatus: [string, string][] = [
  ['D365_Order_Status__c', 'string'],
  ['D365_Invoice_Number__c', 'string'],
  ['D365_Invoice_Date__c', 'date'],
  ['D365_Invoiced_Amount__c', 'currency'],
];

function standardDescribes(overrides: Record<string, SObjectDescribe | undefined> = {}) {
  const text = (names: string[]) => names.map((n): [string, string] => [n, 'string']);
  const d = new Map<string, SObjectDescribe | undefined>([
    [
      'Account',
      describeOf('Account', [
        ...text([
          'Name',
          'AccountNumber',
          'Phone',
          'Website',
          'BillingStreet',
          'BillingCity',
          'BillingState',
        ]),
        ...text([
          'BillingPostalCode',
          'BillingCountry',
          'BillingCountryCode',
          'D365_Customer_Key__c',
          'D365_Hold_Status__c',
        ]),
      ]),
    ],
    [
      'Product2',
      describeOf('Product2', [
        ...text(['Name', 'ProductCode', 'Description', 'D365_Item_Key__c']),
        ['IsActive', 'boolean'],
      ]),
    ],
    [
      'PricebookEntry',
      describeOf('PricebookEntry', [
        ['Pricebook2Id', 'reference', true, false],
        ['Product2Id', 'reference', true, false],
        ['UseStandardPrice', 'boolean'],
        ['UnitPrice', 'currency'],
        ['IsActive', 'boolean'],
      ]),
    ],
    [
      'Opportunity',
      describeOf('Opportunity', [
        ['AccountId', 'reference'],
        ['IsWon', 'boolean', false, false],
        ['Name', 'string'],
        ...orderStatus,
      ]),
    ],
    [
      'Order',
      describeOf('Order', [
        ['AccountId', 'reference'],
        ['StatusCode', 'picklist', false, false],
        ['OrderNumber', 'string', false, false],
        ...orderStatus,
      ]),
    ],
    [
      'OpportunityLineItem',
      describeOf('OpportunityLineItem', [
        ['Quantity', 'double'],
        ['UnitPrice', 'currency'],
        ['Product2Id', 'reference'],
      ]),
    ],
    [
      'OrderItem',
      describeOf('OrderItem', [
        ['Quantity', 'double'],
        ['UnitPrice', 'currency'],
        ['Product2Id', 'reference'],
      ]),
    ],
  ]);
  for (const [k, v] of Object.entries(overrides)) d.set(k, v);
  return d;
}

describe('checkSalesforceFields', () => {
  it('finds nothing in an org where the integration user can see and edit every field it uses', () => {
    const cfg = config();
    expect(sobjectsToDescribe(cfg, NO_PICKLISTS).sort()).toEqual([...standardDescribes().keys()].sort());
    expect(checkSalesforceFields(cfg, standardDescribes(), NO_PICKLISTS)).toEqual([]);
  });

  it('says to grant field access for a hidden field and a read-only written field', () => {
    const describes = standardDescribes({
      Account: describeOf('Account', [
        ['Name', 'string'],
        ['AccountNumber', 'string', false, false],
        ...[
          'Website',
          'BillingStreet',
          'BillingCity',
          'BillingState',
          'BillingPostalCode',
          'BillingCountry',
        ].map((n): [string, string] => [n, 'string']),
        ['BillingCountryCode', 'picklist'],
        ['D365_Customer_Key__c', 'string'],
        ['D365_Hold_Status__c', 'string'],
      ]),
    });
    const problems = checkSalesforceFields(config(), describes, NO_PICKLISTS);
    expect(problems).toEqual([
      {
        key: 'connector: customers flow (Account fields)',
        problem: 'Account.AccountNumber is not createable or updateable for the integration user',
        fix: 'grant field access in the permission set (Edit on Account.AccountNumber); if it is a formula or system field, it cannot be written',
      },
      {
        key: 'connector: customers flow (Account fields)',
        problem: 'Account.Phone does not exist or is not visible to the integration user',
        fix: 'grant field access in the permission set (Edit on Account.Phone)',
      },
      {
        key: 'connector: account write-back flow',
        problem: 'Account.Phone does not exist or is not visible to the integration user',
        fix: 'grant field access in the permission set (Read on Account.Phone)',
      },
    ]);
  });

  it('accepts an org without State and Country/Territory Picklists (no BillingCountryCode)', () => {
    const account = standardDescribes().get('Account') as SObjectDescribe;
    const describes = standardDescribes({
      Account: describeOf(
        'Account',
        account.fields
          .filter((f) => f.name !== 'BillingCountryCode')
          .map((f): [string, string] => [f.name, f.type]),
      ),
    });
    expect(checkSalesforceFields(config(), describes, NO_PICKLISTS)).toEqual([]);
  });

  it('names a configured Salesforce field that is missing, with the key to remove', () => {
    const problems = checkSalesforceFields(
      config({ mappings: { salesOrders: { CustomerRequisitionNumber: 'PO_Number__c' } } }),
      standardDescribes(),
      NO_PICKLISTS,
    );
    expect(problems).toEqual([
      {
        key: 'mappings.salesOrders.CustomerRequisitionNumber',
        problem: 'Opportunity.PO_Number__c does not exist or is not visible to the integration user',
        fix: 'create Opportunity.PO_Number__c, or grant field access in the permission set (Read on Opportunity.PO_Number__c), or remove mappings.salesOrders.CustomerRequisitionNumber',
      },
      expect.objectContaining({
        problem: 'Order.PO_Number__c does not exist or is not visible to the integration user',
      }),
    ]);
  });

  it('refuses a mapping between fields of different kinds', () => {
    const describes = standardDescribes({
      Account: describeOf('Account', [
        ...['Name', 'AccountNumber', 'Phone', 'Website', 'BillingStreet', 'BillingCity', 'BillingState'].map(
          (n): [string, string] => [n, 'string'],
        ),
        ...[
          'BillingPostalCode',
          'BillingCountry',
          'BillingCountryCode',
          'D365_Customer_Key__c',
          'D365_Hold_Status__c',
        ].map((n): [string, string] => [n, 'string']),
        ['Credit_Limit__c', 'date'],
      ]),
    });
    const sets = standardModel();
    const problems = checkSalesforceFields(
      config({ mappings: { customers: { Credit_Limit__c: 'CreditLimit' } } }),
      describes,
      NO_PICKLISTS,
      model(sets),
    );
    expect(problems).toEqual([
      {
        key: 'mappings.customers.Credit_Limit__c',
        problem:
          'Account.Credit_Limit__c is date but CustomersV3.CreditLimit is Edm.Decimal: the values do not convert',
        fix: 'map fields of the same kind (number in F&O needs a number field in Salesforce), or remove mappings.customers.Credit_Limit__c',
      },
    ]);
  });

  it('says to enable Orders when the Order object is not there', () => {
    const problems = checkSalesforceFields(config(), standardDescribes({ Order: undefined }), NO_PICKLISTS);
    expect(problems[0]).toMatchObject({
      problem: 'Order does not exist or is not visible to the integration user',
      fix: expect.stringContaining('enable Orders'),
    });
  });

  it('names a picklist value a mapping writes that the org does not have', () => {
    const describes = standardDescribes({
      Order: describeOf('Order', [
        ['AccountId', 'reference'],
        ['StatusCode', 'picklist', false, false],
        ['OrderNumber', 'string', false, false],
        ['Status', 'picklist', true, true, ['Draft', 'Activated']],
        ...orderStatus,
      ]),
    });
    const uses = [
      {
        sobject: 'Order',
        field: 'Status',
        access: 'update' as const,
        key: 'orders.status',
        configured: true,
        values: ['Activated', 'Shipped'],
      },
    ];
    expect(checkSalesforceFields(config(), describes, NO_PICKLISTS, undefined, uses)).toEqual([
      {
        key: 'orders.status',
        problem: '"Shipped" is not an active picklist value of Order.Status',
        fix: 'add "Shipped" to the picklist of Order.Status (Setup > Object Manager), or change orders.status',
      },
    ]);
  });
});

describe('checkSalesforceFields for the order status fields', () => {
  it('names a status value the Opportunity picklist lacks, and a status field of the wrong kind', () => {
    const describes = standardDescribes({
      Opportunity: describeOf('Opportunity', [
        ['AccountId', 'reference'],
        ['IsWon', 'boolean', false, false],
        ['Name', 'string'],
        ['D365_Order_Status__c', 'picklist', true, true, ['Open', 'Delivered', 'Invoiced']],
        ['D365_Invoice_Number__c', 'string'],
        ['D365_Invoice_Date__c', 'boolean'],
        ['D365_Invoiced_Amount__c', 'currency'],
      ]),
    });
    const problems = checkSalesforceFields(
      config({ flows: { activatedOrders: { enabled: false } } }),
      describes,
      NO_PICKLISTS,
    );
    expect(problems.map((p) => p.key)).toEqual(
      expect.arrayContaining([
        'orderStatus.fields.Opportunity.status',
        'orderStatus.fields.Opportunity.invoiceDate',
      ]),
    );
    expect(problems.find((p) => p.key === 'orderStatus.fields.Opportunity.status')?.problem).toMatch(
      /is not an active picklist value of Opportunity\.D365_Order_Status__c/,
    );
  });
});

describe('goLiveFieldCheck', () => {
  it('checks Salesforce alone when $metadata could not be read', async () => {
    const cfg = config({ mappings: { customers: { Region__c: 'ZZ_Region' } } });
    const described: string[] = [];
    const describes = standardDescribes();
    const step = goLiveFieldCheck(cfg, async () => undefined);
    const problems = await step({
      describe: async (sobject) => {
        described.push(sobject);
        return describes.get(sobject);
      },
      org: NO_PICKLISTS,
    });
    expect(problems.map((p) => p.problem)).toEqual([
      'Account.Region__c does not exist or is not visible to the integration user',
    ]);
    expect(described.sort()).toEqual(sobjectsToDescribe(cfg, NO_PICKLISTS).sort());
  });

  it('checks both systems with a model', async () => {
    const cfg = config({ mappings: { customers: { Region__c: 'ZZ_Region' } } });
    const describes = standardDescribes();
    const step = goLiveFieldCheck(cfg, async () => model(standardModel()));
    const problems = await step({ describe: async (s) => describes.get(s), org: NO_PICKLISTS });
    expect(problems.map((p) => p.problem)).toEqual([
      'CustomersV3 has no field ZZ_Region',
      'Account.Region__c does not exist or is not visible to the integration user',
    ]);
  });
});

describe('the field check of mappings', () => {
  it('follows relationship paths and names a missing relationship and a missing related field', async () => {
    const cfg = config({
      flows: { activatedOrders: { enabled: false } },
      mappings: {
        salesOrders: {
          DeliveryAddressCity: 'Account.BillingCity',
          DeliveryAddressStreet: 'Acount.BillingStreet',
          DeliveryAddressZipCode: { field: 'Account.ZipZip', maxLength: 10 },
        },
      },
    });
    const opportunity = parseDescribe({
      name: 'Opportunity',
      label: 'Opportunity',
      fields: [
        ...['Name', 'IsWon', 'D365_Sales_Order__c'].map((name) => ({
          name,
          type: 'string',
          createable: true,
          updateable: true,
        })),
        {
          name: 'AccountId',
          type: 'reference',
          referenceTo: ['Account'],
          relationshipName: 'Account',
          createable: true,
          updateable: true,
        },
      ],
    });
    const describes = standardDescribes({ Opportunity: opportunity });
    const step = goLiveFieldCheck(cfg, async () => undefined);
    const problems = await step({ describe: async (s) => describes.get(s), org: NO_PICKLISTS });
    expect(problems.filter((p) => p.key.startsWith('mappings.'))).toEqual([
      {
        key: 'mappings.salesOrders.DeliveryAddressStreet',
        problem: 'Opportunity has no relationship Acount (on the path Opportunity.Acount.BillingStreet)',
        fix: "use a relationship name from Opportunity's describe (e.g. Account, Owner), or remove mappings.salesOrders.DeliveryAddressStreet",
      },
      {
        key: 'mappings.salesOrders.DeliveryAddressZipCode',
        problem: 'Opportunity.Account.ZipZip does not exist or is not visible to the integration user',
        fix: 'create Opportunity.Account.ZipZip, or grant field access in the permission set (Read on Opportunity.Account.ZipZip), or remove mappings.salesOrders.DeliveryAddressZipCode',
      },
    ]);
  });

  it('names a value-map value that is not a member of the F&O enum it is written to', () => {
    const cfg = config({
      mappings: {
        accountWriteBack: { OnHoldStatus: { field: 'Description', map: { a: 'No', b: 'Blocked' } } },
      },
    });
    const sets = withField(standardModel(), 'CustomersV3', 'OnHoldStatus', 'enum:CustVendorBlocked');
    const problems = checkDynamicsFields(cfg, {
      entitySets: sets,
      enums: { CustVendorBlocked: ['No', 'Invoice', 'All', 'Payment', 'Requisition', 'Never'] },
    });
    expect(problems).toEqual([
      {
        key: 'mappings.accountWriteBack.OnHoldStatus',
        problem:
          '"Blocked" is not a member of CustomersV3.OnHoldStatus (enum CustVendorBlocked: No, Invoice, All, Payment, Requisition, Never)',
        fix: 'write one of the members in mappings.accountWriteBack.OnHoldStatus',
      },
    ]);
  });

  it('refuses mappings of fields the connector owns and price book targets besides UnitPrice', () => {
    const cfg = config({
      mappings: {
        salesOrders: { CustomersOrderReference: 'Name' },
        salesOrderLines: { OrderLineReference: 'Id' },
        priceBookEntries: { IsActive: { const: true } },
      },
    });
    expect(checkMappingTargets(cfg).map((p) => p.key)).toEqual([
      'mappings.salesOrders.CustomersOrderReference',
      'mappings.salesOrderLines.OrderLineReference',
      'mappings.priceBookEntries.IsActive',
    ]);
  });

  it('names an expression whose value kind does not fit the target, with the conversion to use', () => {
    const cfg = config({
      mappings: {
        customers: { Website: { const: 5 }, Phone: { field: 'CreditLimit', as: 'text', decimals: 2 } },
        accountWriteBack: { CreditLimit: { template: '{Name}' } },
      },
    });
    const sf = checkSalesforceFields(cfg, standardDescribes(), NO_PICKLISTS).filter((p) =>
      p.key.startsWith('mappings.'),
    );
    expect(sf).toEqual([
      {
        key: 'mappings.customers.Website',
        problem: 'mappings.customers.Website writes number values but Account.Website is string',
        fix: 'convert with as: text (or map to text values) in mappings.customers.Website',
      },
    ]);
    const sets = withField(standardModel(), 'CustomersV3', 'CreditLimit', 'Edm.Decimal');
    expect(checkDynamicsFields(cfg, model(sets)).filter((p) => p.key.startsWith('mappings.'))).toEqual([
      {
        key: 'mappings.accountWriteBack.CreditLimit',
        problem:
          'mappings.accountWriteBack.CreditLimit writes text values but CustomersV3.CreditLimit is Edm.Decimal',
        fix: 'convert with as: number (or map to number values) in mappings.accountWriteBack.CreditLimit',
      },
    ]);
  });
});
