/**
 * Every field the connector and its configuration read, filter on, map or write, in both systems,
 * each with the configuration key (or connector feature) that makes it needed. The go-live check
 * (field-check.ts) compares them with the customer's F&O `$metadata` and Salesforce describes.
 */
import type { ConnectorConfig } from '#core/config/schema.ts';
import {
  exprConstants,
  exprKind,
  exprPaths,
  plainPath,
  producesOnlyConstants,
} from '#core/mapping/expression.ts';
import {
  configures,
  flowMapping,
  type MappingFacts,
  type MappingFlow,
  PARENT_ROOT,
  TRANSLATION_ROOT,
} from '#core/mapping/flow-mappings.ts';
import type { OrgFacts } from '#core/mapping/legal-entity.ts';
import { legalEntityField, resolutionFields } from '#core/mapping/legal-entity.ts';
import { orderStatusTargets, SALES_STATUSES, statusValueOf } from '#core/mapping/order-status.ts';
import { type AnyEntity, ENTITIES, edmTypeOf } from '#core/ports/dynamics/entities.ts';
import { orgShapeOf } from './org-shape.ts';

/** How a field is used. `key` fields address records; `filter` fields appear in `$filter`. */
export type DynamicsAccess = 'read' | 'filter' | 'write' | 'key';

/** A field of an F&O entity set the connector needs. */
export interface DynamicsFieldUse {
  readonly entity: string;
  readonly field: string;
  readonly access: DynamicsAccess;
  /** The configuration key that names the field, or the connector feature that uses it. */
  readonly key: string;
  /** Whether the configuration names it (the fix may be to change the configuration). */
  readonly configured: boolean;
  /** The EDM type the connector expects (`Edm.String`, `enum:NoYes`, …), when it depends on one. */
  readonly type?: string | undefined;
  /** A Salesforce field this one is mapped to or from, for a type comparison across systems. */
  readonly counterpart?: { readonly sobject: string; readonly field: string } | undefined;
  /** Values a mapping writes into it (value maps, constants), which an enum field must have as members. */
  readonly values?: readonly string[] | undefined;
  /** The kind of value a mapping writes into it, when known (`as`, templates, constants). */
  readonly kind?: 'text' | 'number' | 'boolean' | 'date' | undefined;
}

/** How a Salesforce field is used: `upsert` needs createable and updateable. */
export type SalesforceAccess = 'read' | 'create' | 'update' | 'upsert';

/** A field of a Salesforce object the connector needs. */
export interface SalesforceFieldUse {
  readonly sobject: string;
  readonly field: string;
  readonly access: SalesforceAccess;
  readonly key: string;
  readonly configured: boolean;
  /** The F&O field it is mapped to or from, for a type comparison across systems. */
  readonly counterpart?: { readonly entity: string; readonly field: string } | undefined;
  /** Picklist values the connector writes into it, which must exist in the org. */
  readonly values?: readonly string[] | undefined;
  /** The kind of value a mapping writes into it, when known (`as`, templates, constants). */
  readonly kind?: 'text' | 'number' | 'boolean' | 'date' | undefined;
  /**
   * A field only some orgs have, which the connector uses where it exists (the State and
   * Country/Territory Picklists' Code fields): its absence is no problem, its access still is.
   */
  readonly optional?: boolean | undefined;
}

/** Account fields that exist only with State and Country/Territory Picklists enabled. */
const PICKLIST_VARIANT_FIELDS: ReadonlySet<string> = new Set(['billingcountrycode', 'billingstatecode']);

/** The EDM type the connector expects of a field its descriptors declare (typed against the F&O reference); undefined for others. */
export function expectedEdmType(entity: string, field: string): string | undefined {
  const descriptor = (ENTITIES as Readonly<Record<string, AnyEntity>>)[entity];
  return descriptor && (descriptor.fields as readonly string[]).includes(field)
    ? edmTypeOf(descriptor, field)
    : undefined;
}

/** The F&O fields the connector and the configuration use. */
export function dynamicsFieldUses(config: ConnectorConfig): DynamicsFieldUse[] {
  const uses: DynamicsFieldUse[] = [];
  const { flows } = config;
  const connector = (entity: string, field: string, access: DynamicsAccess) =>
    uses.push({
      entity,
      field,
      access,
      key: `connector: ${entity} (functions/core/ports/dynamics/entities.ts)`,
      configured: false,
      type: expectedEdmType(entity, field),
    });
  const needed: Record<string, boolean> = {
    CustomersV3:
      flows.customers.enabled ||
      flows.accountWriteBack.enabled ||
      flows.wonOpportunities.enabled ||
      flows.activatedOrders.enabled,
    ReleasedProductsV2:
      flows.products.enabled || flows.wonOpportunities.enabled || flows.activatedOrders.enabled,
    SalesOrderHeadersV2: flows.wonOpportunities.enabled || flows.activatedOrders.enabled,
    SalesOrderLines: flows.wonOpportunities.enabled || flows.activatedOrders.enabled,
    SalesInvoiceHeadersV2:
      config.orderStatus.enabled && (flows.wonOpportunities.enabled || flows.activatedOrders.enabled),
  };
  for (const descriptor of Object.values(ENTITIES) as {
    readonly name: string;
    readonly keys: readonly string[];
    readonly fields: readonly string[];
  }[]) {
    if (needed[descriptor.name] === false) continue;
    for (const field of descriptor.fields) {
      connector(descriptor.name, field, descriptor.keys.includes(field) ? 'key' : 'read');
    }
  }
  for (const m of mappingUses(config)) {
    if (m.system !== 'dynamics') continue;
    uses.push({
      entity: m.object,
      field: m.field,
      access: m.access === 'read' ? 'read' : 'write',
      key: m.key,
      configured: m.configured,
      ...(m.counterpart
        ? { counterpart: { sobject: m.counterpart.object, field: m.counterpart.field } }
        : {}),
      ...(m.values ? { values: m.values } : {}),
      ...(m.kind ? { kind: m.kind } : {}),
    });
  }
  if (flows.products.enabled) {
    for (const field of config.lifecycle.products.stoppedFlags) {
      uses.push({
        entity: 'ReleasedProductsV2',
        field,
        access: 'read',
        key: 'lifecycle.products.stoppedFlags',
        configured: true,
        type: 'enum:NoYes',
      });
    }
  }
  for (const [entity, field] of Object.entries(config.modifiedFields)) {
    if (!field) continue;
    uses.push({
      entity,
      field,
      access: 'filter',
      key: `modifiedFields.${entity}`,
      configured: true,
      type: 'Edm.DateTimeOffset',
    });
  }
  for (const [eventId, event] of Object.entries(config.businessEvents.events)) {
    for (const field of Object.keys(event.keyFields)) {
      uses.push({
        entity: event.entity,
        field,
        access: 'key',
        key: `businessEvents.events.${eventId}.keyFields.${field}`,
        configured: true,
      });
    }
  }
  return uses;
}

/** The Salesforce fields the connector and the configuration use. */
export function salesforceFieldUses(config: ConnectorConfig, org: OrgFacts): SalesforceFieldUse[] {
  const { multiCurrency } = orgShapeOf(org);
  const uses: SalesforceFieldUse[] = [];
  const { flows, externalIds } = config;
  const add = (
    sobject: string,
    field: string,
    access: SalesforceAccess,
    key: string,
    extra: Partial<Pick<SalesforceFieldUse, 'counterpart' | 'values' | 'kind'>> = {},
  ) =>
    uses.push({
      sobject,
      field,
      access,
      key,
      configured: !key.startsWith('connector:'),
      ...(sobject === 'Account' &&
      PICKLIST_VARIANT_FIELDS.has(field.toLowerCase()) &&
      key.startsWith('connector:')
        ? { optional: true }
        : {}),
      ...extra,
    });

  const mapped = mappingUses(config, org);
  const addMapped = (flow: MappingFlow, source?: 'Opportunity' | 'Order') => {
    for (const m of mapped) {
      if (m.system !== 'salesforce' || m.flow !== flow || (source && m.source !== source)) continue;
      add(m.object, m.field, m.access === 'write' ? 'upsert' : m.access, m.key, {
        ...(m.counterpart
          ? { counterpart: { entity: m.counterpart.object, field: m.counterpart.field } }
          : {}),
        ...(m.values ? { values: m.values } : {}),
        ...(m.kind ? { kind: m.kind } : {}),
      });
    }
  };
  if (flows.customers.enabled) {
    add('Account', externalIds.account, 'create', 'externalIds.account');
    addMapped('customers');
    const hold = config.lifecycle.customerHold;
    if (hold.field && !(hold.field in config.mappings.customers))
      add('Account', hold.field, 'upsert', 'lifecycle.customerHold.field');
  }
  if (flows.products.enabled) {
    add('Product2', externalIds.product, 'create', 'externalIds.product');
    addMapped('products');
    const pricebook = 'connector: price book entries (Standard Price Book)';
    for (const f of ['Pricebook2Id', 'Product2Id', 'UseStandardPrice'])
      add('PricebookEntry', f, 'create', pricebook);
    for (const f of ['UnitPrice', 'IsActive']) add('PricebookEntry', f, 'upsert', pricebook);
    if (multiCurrency) add('PricebookEntry', 'CurrencyIsoCode', 'create', pricebook);
    addMapped('priceBookEntries');
  }
  const sources: ['Opportunity' | 'Order', boolean][] = [
    ['Opportunity', flows.wonOpportunities.enabled],
    ['Order', flows.activatedOrders.enabled],
  ];
  for (const [sobject, enabled] of sources) {
    if (!enabled) continue;
    const feature = `connector: ${sobject === 'Opportunity' ? 'won opportunities' : 'activated orders'} flow`;
    const fields =
      sobject === 'Opportunity' ? ['AccountId', 'IsWon', 'Name'] : ['AccountId', 'StatusCode', 'OrderNumber'];
    for (const f of fields) add(sobject, f, 'read', feature);
    if (multiCurrency) add(sobject, 'CurrencyIsoCode', 'read', feature);
    addMapped('salesOrders', sobject);
    addMapped('salesOrderLines', sobject);
    if (config.orderStatus.enabled) {
      // Checked like a mapping's targets: the kind each writes, and the status values against a picklist.
      const kinds = {
        status: 'text',
        invoiceNumber: 'text',
        invoiceDate: 'date',
        invoicedAmount: 'number',
      } as const;
      for (const [target, field] of Object.entries(orderStatusTargets(config, sobject))) {
        if (!field) continue;
        const name = target as keyof typeof kinds;
        add(sobject, field, 'update', `orderStatus.fields.${sobject}.${target}`, {
          kind: kinds[name],
          ...(name === 'status'
            ? { values: [...new Set(SALES_STATUSES.map((s) => statusValueOf(config, s)))] }
            : {}),
        });
      }
    }
    const lines = sobject === 'Opportunity' ? 'OpportunityLineItem' : 'OrderItem';
    for (const f of ['Quantity', 'UnitPrice', 'Product2Id']) add(lines, f, 'read', feature);
    add('Product2', 'ProductCode', 'read', feature);
  }
  if (flows.accountWriteBack.enabled) {
    const feature = 'connector: account write-back flow';
    add('Account', 'Name', 'read', feature);
    addMapped('accountWriteBack');
    add('Account', externalIds.account, 'update', 'externalIds.account');
    const le = legalEntityField(config);
    if (le) add('Account', le, 'update', 'legalEntityRules (field)');
  }
  if (flows.accountWriteBack.enabled || flows.wonOpportunities.enabled || flows.activatedOrders.enabled) {
    for (const f of resolutionFields(config, org)) {
      const rule = config.legalEntityRules.some((r) => 'field' in r && r.field === f);
      add('Account', f, 'read', rule ? 'legalEntityRules (field)' : 'connector: legal entity resolution');
    }
  }
  return uses;
}

/** One field a flow's mapping reads or writes, in either system. */
export interface MappingFieldUse {
  readonly flow: MappingFlow;
  /** The sales order source the use belongs to (salesOrders, salesOrderLines). */
  readonly source?: 'Opportunity' | 'Order' | undefined;
  readonly system: 'dynamics' | 'salesforce';
  /** The entity set or sObject; a Salesforce path may cross relationships (`Account.ShippingCity`). */
  readonly object: string;
  readonly field: string;
  readonly access: 'read' | 'write' | 'upsert';
  /** `mappings.<flow>.<target>`, or the default mapping of the flow. */
  readonly key: string;
  readonly configured: boolean;
  /** The field a plain copy joins it to, for the type comparison. */
  readonly counterpart?: { readonly object: string; readonly field: string } | undefined;
  /** Constants the mapping writes into a target (picklist values / enum members to check). */
  readonly values?: readonly string[] | undefined;
  /** The kind of value the expression writes into a target, when known without the record. */
  readonly kind?: 'text' | 'number' | 'boolean' | 'date' | undefined;
}

interface FlowSides {
  readonly flow: MappingFlow;
  /** The connector feature the defaults belong to (the key of a problem with a default). */
  readonly feature: string;
  readonly facts: MappingFacts;
  /** Where targets are written. */
  readonly target: {
    readonly system: 'dynamics' | 'salesforce';
    readonly object: string;
    readonly access: 'write' | 'upsert';
  };
  /** Where sources are read: the object of a path by its root (`parent`, `Translation`), else `base`. */
  readonly base: { readonly system: 'dynamics' | 'salesforce'; readonly object: string };
  readonly roots?: Readonly<
    Record<string, { readonly system: 'dynamics' | 'salesforce'; readonly object: string }>
  >;
}

/** The flows whose mappings run under `config` (and the org's shape), with where they read and write. */
function mappedFlows(config: ConnectorConfig, org?: OrgFacts): FlowSides[] {
  const { flows } = config;
  const addressCodes = org ? orgShapeOf(org).addressCodes : false;
  const out: FlowSides[] = [];
  const dyn = (object: string) => ({ system: 'dynamics', object }) as const;
  const sf = (object: string) => ({ system: 'salesforce', object }) as const;
  if (flows.customers.enabled) {
    out.push({
      flow: 'customers',
      feature: 'connector: customers flow (Account fields)',
      facts: { addressCodes },
      target: { ...sf('Account'), access: 'upsert' },
      base: dyn('CustomersV3'),
    });
  }
  if (flows.products.enabled) {
    out.push({
      flow: 'products',
      feature: 'connector: products flow (Product2 fields)',
      facts: { quantityUnitOfMeasure: false },
      target: { ...sf('Product2'), access: 'upsert' },
      base: dyn('ReleasedProductsV2'),
      roots: { [TRANSLATION_ROOT]: dyn('ProductTranslations') },
    });
    out.push({
      flow: 'priceBookEntries',
      feature: 'connector: price book entries (Standard Price Book)',
      facts: {},
      target: { ...sf('PricebookEntry'), access: 'upsert' },
      base: dyn('ReleasedProductsV2'),
    });
  }
  const sources: ['Opportunity' | 'Order', boolean, string][] = [
    ['Opportunity', flows.wonOpportunities.enabled, 'OpportunityLineItem'],
    ['Order', flows.activatedOrders.enabled, 'OrderItem'],
  ];
  for (const [sobject, enabled, lines] of sources) {
    if (!enabled) continue;
    const feature = `connector: ${sobject === 'Opportunity' ? 'won opportunities' : 'activated orders'} flow`;
    out.push({
      flow: 'salesOrders',
      feature,
      facts: { sobject },
      target: { ...dyn('SalesOrderHeadersV2'), access: 'write' },
      base: sf(sobject),
    });
    out.push({
      flow: 'salesOrderLines',
      feature,
      facts: { sobject },
      target: { ...dyn('SalesOrderLines'), access: 'write' },
      base: sf(lines),
      roots: { [PARENT_ROOT]: sf(sobject) },
    });
  }
  if (flows.accountWriteBack.enabled) {
    out.push({
      flow: 'accountWriteBack',
      feature: 'connector: account write-back flow',
      facts: { addressCodes },
      target: { ...dyn('CustomersV3'), access: 'write' },
      base: sf('Account'),
    });
  }
  return out;
}

/**
 * Every field the flows' mappings read and write (defaults and configuration), each with the
 * `mappings.*` key that names it: what the go-live check compares with `$metadata` and describe.
 */
export function mappingUses(config: ConnectorConfig, org?: OrgFacts): MappingFieldUse[] {
  const uses: MappingFieldUse[] = [];
  for (const sides of mappedFlows(config, org)) {
    for (const [target, expr] of Object.entries(flowMapping(sides.flow, config, sides.facts))) {
      const configured = configures(sides.flow, config, target);
      const key = configured ? `mappings.${sides.flow}.${target}` : sides.feature;
      const resolve = (path: string) => {
        const [root, ...rest] = path.split('.');
        const other = root !== undefined && rest.length > 0 ? sides.roots?.[root] : undefined;
        return other ? { ...other, field: rest.join('.') } : { ...sides.base, field: path };
      };
      const plain = plainPath(expr);
      const from = plain ? resolve(plain) : undefined;
      const constants = producesOnlyConstants(expr)
        ? exprConstants(expr).filter((v): v is string => typeof v === 'string')
        : [];
      const of = { flow: sides.flow, ...(sides.facts.sobject ? { source: sides.facts.sobject } : {}) };
      uses.push({
        ...of,
        system: sides.target.system,
        object: sides.target.object,
        field: target,
        access: sides.target.access,
        key,
        configured,
        ...(from && from.system !== sides.target.system && !from.field.includes('.')
          ? { counterpart: { object: from.object, field: from.field } }
          : {}),
        ...(constants.length > 0 ? { values: [...new Set(constants)] } : {}),
        ...(exprKind(expr) ? { kind: exprKind(expr) } : {}),
      });
      for (const path of new Set(exprPaths(expr))) {
        const source = resolve(path);
        uses.push({
          ...of,
          system: source.system,
          object: source.object,
          field: source.field,
          access: 'read',
          key,
          configured,
          ...(plain === path && !source.field.includes('.') && !target.includes('.')
            ? { counterpart: { object: sides.target.object, field: target } }
            : {}),
        });
      }
    }
  }
  return uses;
}
