/**
 * Typed descriptors of the F&O data entities the connector reads and writes: entity set name,
 * key fields (dataAreaId first for company-specific entities), and the known fields.
 * https://learn.microsoft.com/en-us/dynamics365/fin-ops-core/dev-itpro/data-entities/data-entities
 */
import { ValidationError } from '#base/errors.ts';

/** An OData entity set: its name, full key and fields. */
export interface EntityDescriptor<
  Name extends string = string,
  Keys extends readonly string[] = readonly string[],
  Fields extends string = string,
> {
  readonly name: Name;
  /** Every key field, in key order; company-specific entities start with `dataAreaId`. */
  readonly keys: Keys;
  /** Whether records belong to a legal entity (dataAreaId), so reads are scoped by company. */
  readonly companySpecific: boolean;
  readonly fields: readonly Fields[];
  /**
   * The EDM type of every field that is not `Edm.String` (enum fields as `enum:<Type>`, as the
   * reference schema writes them); a field not named here is declared `Edm.String`. A unit test
   * holds every declared field, type and key to F&O's real schema (sandbox/dynamics/reference).
   */
  readonly types?: Readonly<Partial<Record<Fields, EdmType>>>;
}

/** An EDM primitive type the connector declares, or an F&O enum type (`enum:NoYes`). */
export type EdmType =
  | 'Edm.String'
  | 'Edm.Decimal'
  | 'Edm.Int32'
  | 'Edm.Int64'
  | 'Edm.DateTimeOffset'
  | 'Edm.Guid'
  | `enum:${string}`;

/** The declared EDM type of a field of `entity` (`Edm.String` unless `types` says otherwise). */
export function edmTypeOf(entity: AnyEntity, field: string): EdmType {
  return (entity.types as Readonly<Record<string, EdmType>> | undefined)?.[field] ?? 'Edm.String';
}

/** Any descriptor. */
export type AnyEntity = EntityDescriptor<string, readonly string[], string>;

/** The full key of an entity: every key field, dataAreaId included where the entity has it. */
export type EntityKey<E extends AnyEntity> = { readonly [F in E['keys'][number]]: string };

/** A field name of an entity. */
export type FieldOf<E extends AnyEntity> = E['fields'][number];

/** A record as OData returns it (fields plus annotations such as `@odata.etag`). */
export type EntityRecord<E extends AnyEntity> = { readonly [F in FieldOf<E>]?: unknown } & Readonly<
  Record<string, unknown>
>;

/** Defines a descriptor, checking that a company-specific entity's key starts with dataAreaId. */
export function defineEntity<
  const N extends string,
  const K extends readonly string[],
  const F extends string,
>(descriptor: EntityDescriptor<N, K, F>): EntityDescriptor<N, K, F> {
  const { keys, companySpecific, name } = descriptor;
  if (keys.length === 0) throw new ValidationError(`${name}: an entity needs key fields`);
  if (companySpecific !== (keys[0] === 'dataAreaId')) {
    throw new ValidationError(
      `${name}: dataAreaId must be the first key field exactly when the entity is company-specific`,
    );
  }
  for (const k of keys) {
    if (!(descriptor.fields as readonly string[]).includes(k)) {
      throw new ValidationError(`${name}: key field ${k} is not among the fields`);
    }
  }
  return Object.freeze({ ...descriptor, keys: Object.freeze([...keys]) as unknown as K });
}

/** Customers (CustTable + party); no modified timestamp field. Create needs PartyType, CustomerGroupId, SalesCurrencyCode, OrganizationName; CustomerAccount comes from the number sequence. */
export const CustomersV3 = defineEntity({
  name: 'CustomersV3',
  keys: ['dataAreaId', 'CustomerAccount'],
  companySpecific: true,
  fields: [
    'dataAreaId',
    'CustomerAccount',
    'OrganizationName',
    'NameAlias',
    'PartyType',
    'PartyNumber',
    'CustomerGroupId',
    'SalesCurrencyCode',
    'PaymentTerms',
    'CreditLimit',
    'IsOneTimeCustomer',
    'LanguageId',
    'AddressDescription',
    'AddressStreet',
    'AddressCity',
    'AddressState',
    'AddressZipCode',
    'AddressCountryRegionId',
    'AddressCountryRegionISOCode',
    'PrimaryContactPhone',
    'PrimaryContactEmail',
    'PrimaryContactURL',
    'DeliveryTerms',
    'SalesTaxGroup',
    // The default field carrying a Salesforce Account Id (accountWriteBack.salesforceIdField).
    'IdentificationNumber',
    // The customer's hold (lifecycle.customerHold).
    'OnHoldStatus',
  ],
  types: {
    CreditLimit: 'Edm.Decimal',
    IsOneTimeCustomer: 'enum:NoYes',
    OnHoldStatus: 'enum:CustVendorBlocked',
  },
});

/**
 * Released products per legal entity (InventTable). The entity has no product name or description:
 * names are SearchName / ProductSearchName here, or ProductTranslations per language.
 */
export const ReleasedProductsV2 = defineEntity({
  name: 'ReleasedProductsV2',
  keys: ['dataAreaId', 'ItemNumber'],
  companySpecific: true,
  fields: [
    'dataAreaId',
    'ItemNumber',
    'ProductNumber',
    'SearchName',
    'ProductSearchName',
    'ProductType',
    'ProductSubType',
    'ProductGroupId',
    'ItemModelGroupId',
    'SalesPrice',
    'SalesPriceQuantity',
    'SalesUnitSymbol',
    'InventoryUnitSymbol',
    'PurchaseUnitSymbol',
    'NetProductWeight',
    // Whether the product may be sold (lifecycle.products.inactiveStates).
    'ProductLifecycleStateId',
  ],
  types: {
    ProductType: 'enum:EcoResProductType',
    ProductSubType: 'enum:EcoResProductSubtype',
    SalesPrice: 'Edm.Decimal',
    SalesPriceQuantity: 'Edm.Decimal',
    NetProductWeight: 'Edm.Decimal',
  },
});

/** Sales order headers; SalesOrderNumber comes from the number sequence when omitted on create. */
export const SalesOrderHeadersV2 = defineEntity({
  name: 'SalesOrderHeadersV2',
  keys: ['dataAreaId', 'SalesOrderNumber'],
  companySpecific: true,
  fields: [
    'dataAreaId',
    'SalesOrderNumber',
    'OrderingCustomerAccountNumber',
    'InvoiceCustomerAccountNumber',
    'SalesOrderName',
    'CurrencyCode',
    'CustomersOrderReference',
    'CustomerRequisitionNumber',
    'SalesOrderStatus',
    'SalesOrderPromisingMethod',
    'RequestedShippingDate',
    'RequestedReceiptDate',
    'PaymentTermsName',
    'LanguageId',
    'DefaultShippingSiteId',
    'DefaultShippingWarehouseId',
    'DeliveryAddressName',
    'DeliveryAddressStreet',
    'DeliveryAddressCity',
    'DeliveryAddressStateId',
    'DeliveryAddressZipCode',
    'DeliveryAddressCountryRegionId',
    'IsDeliveryAddressOrderSpecific',
    'OrderTakerPersonnelNumber',
  ],
  types: {
    SalesOrderStatus: 'enum:SalesStatus',
    SalesOrderPromisingMethod: 'enum:SalesDeliveryDateControlType',
    RequestedShippingDate: 'Edm.DateTimeOffset',
    RequestedReceiptDate: 'Edm.DateTimeOffset',
    IsDeliveryAddressOrderSpecific: 'enum:NoYes',
  },
});

/** Sales order lines; InventoryLotId, LineCreationSequenceNumber and (by default) LineNumber are assigned by F&O on create. */
export const SalesOrderLines = defineEntity({
  name: 'SalesOrderLines',
  keys: ['dataAreaId', 'InventoryLotId'],
  companySpecific: true,
  fields: [
    'dataAreaId',
    'InventoryLotId',
    'SalesOrderNumber',
    'LineNumber',
    'ItemNumber',
    'LineDescription',
    'OrderedSalesQuantity',
    'SalesPrice',
    'SalesPriceQuantity',
    'SalesUnitSymbol',
    'LineAmount',
    'LineDiscountAmount',
    'CurrencyCode',
    'ShippingSiteId',
    'ShippingWarehouseId',
    'SalesOrderLineStatus',
    'RequestedShippingDate',
    'RequestedReceiptDate',
    // F&O numbers lines from the creation sequence; the Salesforce line id rides in OrderLineReference.
    'LineCreationSequenceNumber',
    'DefaultLineNumberFromLineCreationSequenceNumber',
    'OrderLineReference',
  ],
  types: {
    LineNumber: 'Edm.Decimal',
    OrderedSalesQuantity: 'Edm.Decimal',
    SalesPrice: 'Edm.Decimal',
    SalesPriceQuantity: 'Edm.Decimal',
    LineAmount: 'Edm.Decimal',
    LineDiscountAmount: 'Edm.Decimal',
    SalesOrderLineStatus: 'enum:SalesStatus',
    RequestedShippingDate: 'Edm.DateTimeOffset',
    RequestedReceiptDate: 'Edm.DateTimeOffset',
    LineCreationSequenceNumber: 'Edm.Int32',
    DefaultLineNumberFromLineCreationSequenceNumber: 'enum:NoYes',
  },
});

/** Legal entities: the valid dataAreaIds (global). A company's accounting currency is on Ledgers. */
export const LegalEntities = defineEntity({
  name: 'LegalEntities',
  keys: ['LegalEntityId'],
  companySpecific: false,
  fields: [
    'LegalEntityId',
    'Name',
    'NameAlias',
    'AddressCountryRegionId',
    'AddressCountryRegionISOCode',
    'AddressStreet',
    'AddressCity',
    'AddressState',
    'AddressZipCode',
    'LanguageId',
  ],
});

/** Currencies (global, no dataAreaId). */
export const Currencies = defineEntity({
  name: 'Currencies',
  keys: ['CurrencyCode'],
  companySpecific: false,
  fields: ['CurrencyCode', 'Name', 'Symbol', 'GeneralRoundingRule'],
  types: { GeneralRoundingRule: 'Edm.Decimal' },
});

/** Each company's ledger (global, keyed by company): where its accounting currency is. */
export const Ledgers = defineEntity({
  name: 'Ledgers',
  keys: ['LegalEntityId'],
  companySpecific: false,
  fields: ['LegalEntityId', 'Name', 'Description', 'AccountingCurrency', 'ReportingCurrency'],
});

/** Product names and descriptions per language (global: products are shared by the companies). */
export const ProductTranslations = defineEntity({
  name: 'ProductTranslations',
  keys: ['ProductNumber', 'LanguageId'],
  companySpecific: false,
  fields: ['ProductNumber', 'LanguageId', 'ProductName', 'Description'],
});

/**
 * Posted customer invoices (CustInvoiceJour), read for the sales order status flowing back to
 * Salesforce. Key (dataAreaId, InvoiceNumber, InvoiceDate, LedgerVoucher); read by SalesOrderNumber.
 */
export const SalesInvoiceHeadersV2 = defineEntity({
  name: 'SalesInvoiceHeadersV2',
  keys: ['dataAreaId', 'InvoiceNumber', 'InvoiceDate', 'LedgerVoucher'],
  companySpecific: true,
  fields: [
    'dataAreaId',
    'InvoiceNumber',
    'InvoiceDate',
    'LedgerVoucher',
    'SalesOrderNumber',
    'CustomersOrderReference',
    'InvoiceCustomerAccountNumber',
    'CurrencyCode',
    'TotalInvoiceAmount',
  ],
  types: { InvoiceDate: 'Edm.DateTimeOffset', TotalInvoiceAmount: 'Edm.Decimal' },
});

/** The entities the connector uses, by entity set name. */
export const ENTITIES = Object.freeze({
  SalesInvoiceHeadersV2,
  CustomersV3,
  ReleasedProductsV2,
  SalesOrderHeadersV2,
  SalesOrderLines,
  LegalEntities,
  Ledgers,
  Currencies,
  ProductTranslations,
});
