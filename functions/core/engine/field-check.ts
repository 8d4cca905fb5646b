/**
 * The go-live field check: every field the connector or the configuration uses (field-uses.ts)
 * against the customer's own F&O `$metadata` (existence, EDM type, key) and Salesforce describes
 * (existence and visibility, createable/updateable for the integration user, type, picklist values).
 * Pure: it takes what was read and returns the problems, each naming its configuration key (or
 * the connector feature) and the fix.
 */
import type { ConnectorConfig } from '#core/config/schema.ts';
import type { OrgFacts } from '#core/mapping/legal-entity.ts';
import type { CsdlModel } from '#core/ports/dynamics/metadata.ts';
import type { FieldDescribe, SObjectDescribe } from '#core/ports/salesforce/describe.ts';
import type { CheckProblem, CheckStepContext } from './check.ts';
import {
  type DynamicsFieldUse,
  dynamicsFieldUses,
  type SalesforceFieldUse,
  salesforceFieldUses,
} from './field-uses.ts';

/**
 * A value kind both systems agree on; a mapping must join fields of one kind. UNCONFIRMED whether
 * Salesforce REST stores a JSON number sent to a Text field, or F&O OData a JSON string sent to an
 * Edm.Decimal property: the check demands the same kind (the stricter), so such a mapping is
 * reported before go-live rather than failing record by record.
 */
type Kind = 'text' | 'number' | 'date' | 'boolean' | 'other';

/** The kind of an EDM type. F&O enums travel as their member names (text). */
export function edmKind(type: string): Kind {
  if (type === 'Edm.String' || type === 'Edm.Guid' || type.startsWith('enum:')) return 'text';
  if (/^Edm\.(Decimal|Double|Single|Int16|Int32|Int64|Byte|SByte)$/.test(type)) return 'number';
  if (type === 'Edm.DateTimeOffset' || type === 'Edm.Date') return 'date';
  if (type === 'Edm.Boolean') return 'boolean';
  return 'other';
}

/** The kind of a Salesforce describe field type. */
export function salesforceKind(type: string): Kind {
  switch (type) {
    case 'string':
    case 'textarea':
    case 'picklist':
    case 'multipicklist':
    case 'combobox':
    case 'phone':
    case 'url':
    case 'email':
    case 'id':
    case 'reference':
    case 'encryptedstring':
      return 'text';
    case 'double':
    case 'currency':
    case 'percent':
    case 'int':
    case 'long':
      return 'number';
    case 'date':
    case 'datetime':
      return 'date';
    case 'boolean':
      return 'boolean';
    default:
      return 'other';
  }
}

/**
 * Whether a field typed `actual` in the customer's environment serves a use expecting `expected`.
 * Keys and filtered fields need the exact type (their literals are typed in the URL: an enum
 * filter needs `Namespace.Enum'Member'`); read or written values need the same kind, since JSON
 * carries an enum as its member name, like a string.
 */
export function edmTypeServes(expected: string, actual: string, access: DynamicsFieldUse['access']): boolean {
  if (expected === actual) return true;
  if (access === 'key' || access === 'filter') return false;
  const kind = edmKind(expected);
  return kind !== 'other' && kind === edmKind(actual);
}

const FLS_FIX = 'grant field access in the permission set';

function dynamicsMissingFix(use: DynamicsFieldUse, keyFields: readonly string[]): string {
  if (use.key.startsWith('businessEvents.')) {
    return `use the entity's key fields (${keyFields.join(', ')}) under ${use.key.replace(/\.keyFields\..*$/, '.keyFields')}`;
  }
  if (use.key.startsWith('modifiedFields.')) {
    return `add a modified-timestamp field to ${use.entity} by extension, or remove ${use.key} (the connector then compares content hashes)`;
  }
  if (use.configured) return `add it to the entity by extension, or remove ${use.key}`;
  return 'add it to the entity by extension (the connector reads it), or use a connector version that does not need it';
}

/** Problems of the F&O fields in the customer's `$metadata`. */
export function checkDynamicsFields(config: ConnectorConfig, model: CsdlModel): CheckProblem[] {
  const problems: CheckProblem[] = [];
  const seen = new Set<string>();
  const push = (p: CheckProblem) => {
    // A field the connector needs for several of its own reasons is reported once.
    const id = p.key.startsWith('connector:') ? p.problem : `${p.key}\u0000${p.problem}`;
    if (seen.has(id)) return;
    seen.add(id);
    problems.push(p);
  };
  const uses = dynamicsFieldUses(config);
  const declaredKeys = new Map<string, readonly string[]>();
  for (const use of uses) {
    if (use.access === 'key' && !use.configured) {
      declaredKeys.set(use.entity, [...(declaredKeys.get(use.entity) ?? []), use.field]);
    }
  }
  for (const [entity, keys] of declaredKeys) {
    const set = model.entitySets[entity];
    if (!set) {
      push({
        key: `connector: ${entity}`,
        problem: `the entity set ${entity} is not in this environment's $metadata`,
        fix: `publish the data entity ${entity} (Data management > Framework parameters > Refresh entity list) and give the connector's user a role that can read it`,
      });
      continue;
    }
    if (set.key.join(',') !== keys.join(',')) {
      push({
        key: `connector: ${entity}`,
        problem: `${entity}'s key is (${set.key.join(', ')}) in this environment; the connector addresses it by (${keys.join(', ')})`,
        fix: 'restore the standard key of the entity (a customisation changed it)',
      });
    }
  }
  for (const use of uses) {
    const set = model.entitySets[use.entity];
    if (!set) continue; // reported once above for the connector's entities
    const found = set.fields[use.field];
    if (!found) {
      push({
        key: use.key,
        problem: `${use.entity} has no field ${use.field}`,
        fix: dynamicsMissingFix(use, set.key),
      });
      continue;
    }
    if (use.type && !edmTypeServes(use.type, found.type, use.access)) {
      push({
        key: use.key,
        problem: `${use.entity}.${use.field} is ${found.type} in this environment; the connector expects ${use.type}`,
        fix: use.configured
          ? `name a field of type ${use.type}, or remove ${use.key}`
          : `restore the standard type ${use.type} of ${use.entity}.${use.field} (a customisation changed it)`,
      });
    }
    if (use.kind && edmKind(found.type) !== 'other' && edmKind(found.type) !== use.kind) {
      push({
        key: use.key,
        problem: `${use.key} writes ${use.kind} values but ${use.entity}.${use.field} is ${found.type}`,
        fix: `convert with as: ${edmKind(found.type)} (or map to ${edmKind(found.type)} values) in ${use.key}`,
      });
    }
    if (use.values && found.type.startsWith('enum:')) {
      const members = model.enums[found.type.slice('enum:'.length)];
      for (const value of members ? use.values : []) {
        if (!members?.includes(value)) {
          push({
            key: use.key,
            problem: `"${value}" is not a member of ${use.entity}.${use.field} (enum ${found.type.slice(5)}: ${members?.join(', ')})`,
            fix: `write one of the members in ${use.key}`,
          });
        }
      }
    }
    if (use.access === 'key' && use.configured && !set.key.includes(use.field)) {
      push({
        key: use.key,
        problem: `${use.field} is not a key field of ${use.entity} (its key is ${set.key.join(', ')})`,
        fix: dynamicsMissingFix(use, set.key),
      });
    }
  }
  return problems;
}

/** The type of an F&O field in the customer's `$metadata`, if known. */
function edmTypeOf(model: CsdlModel | undefined, entity: string, field: string): string | undefined {
  return model?.entitySets[entity]?.fields[field]?.type;
}

/**
 * Problems of the Salesforce fields in the describes (by object name; undefined = the object does
 * not exist or is not visible). `model` adds the cross-system type comparison of mapped fields.
 * External ID fields and legal-entity rule fields that are missing altogether are left to the
 * start-up check's own messages; their access is checked here.
 */
export function checkSalesforceFields(
  config: ConnectorConfig,
  describes: ReadonlyMap<string, SObjectDescribe | undefined>,
  org: OrgFacts,
  model?: CsdlModel,
  /** Uses beyond the configuration's, e.g. picklist values a mapping writes. */
  extraUses: readonly SalesforceFieldUse[] = [],
): CheckProblem[] {
  const problems: CheckProblem[] = [];
  const seen = new Set<string>();
  const push = (p: CheckProblem) => {
    const id = `${p.key}\u0000${p.problem}`;
    if (!seen.has(id)) {
      seen.add(id);
      problems.push(p);
    }
  };
  for (const use of [...salesforceFieldUses(config, org), ...extraUses]) {
    if (!describes.has(use.sobject)) continue;
    const describe = describes.get(use.sobject);
    const name = `${use.sobject}.${use.field}`;
    if (!describe) {
      push({
        key: use.key,
        problem: `${use.sobject} does not exist or is not visible to the integration user`,
        fix: `grant the integration user access to ${use.sobject} in the permission set${use.sobject === 'Order' || use.sobject === 'OrderItem' ? ' (and enable Orders in Setup > Order Settings)' : ''}`,
      });
      continue;
    }
    const resolved = resolveSalesforcePath(describes, use.sobject, use.field);
    if ('pending' in resolved) continue;
    if ('problem' in resolved) {
      push({
        key: use.key,
        problem: resolved.problem,
        fix: `use a relationship name from ${use.sobject}'s describe (e.g. Account, Owner), or remove ${use.key}`,
      });
      continue;
    }
    const field = resolved.field;
    if (!field) {
      if (use.optional || use.key.startsWith('externalIds.') || use.key.startsWith('legalEntityRules'))
        continue;
      push({
        key: use.key,
        problem: `${name} does not exist or is not visible to the integration user`,
        fix: use.configured
          ? `create ${name}, or ${FLS_FIX} (Read on ${name}), or remove ${use.key}`
          : `${FLS_FIX} (${use.access === 'read' ? 'Read' : 'Edit'} on ${name})`,
      });
      continue;
    }
    const needs =
      use.access === 'upsert'
        ? ['createable', 'updateable']
        : use.access === 'create'
          ? ['createable']
          : use.access === 'update'
            ? ['updateable']
            : [];
    const lacking = needs.filter((n) => !(n === 'createable' ? field.createable : field.updateable));
    if (lacking.length > 0) {
      push({
        key: use.key,
        problem: `${name} is not ${lacking.join(' or ')} for the integration user`,
        fix: `${FLS_FIX} (Edit on ${name}); if it is a formula or system field, ${use.configured ? `remove ${use.key}` : 'it cannot be written'}`,
      });
    }
    if (use.counterpart) {
      const edm = edmTypeOf(model, use.counterpart.entity, use.counterpart.field);
      if (edm) {
        const sfKind = salesforceKind(field.type);
        const foKind = edmKind(edm);
        if (sfKind !== 'other' && foKind !== 'other' && sfKind !== foKind) {
          push({
            key: use.key,
            problem: `${name} is ${field.type} but ${use.counterpart.entity}.${use.counterpart.field} is ${edm}: the values do not convert`,
            fix: `map fields of the same kind (${foKind} in F&O needs a ${foKind} field in Salesforce), or remove ${use.key}`,
          });
        }
      }
    }
    const sfKind = salesforceKind(field.type);
    if (use.kind && sfKind !== 'other' && sfKind !== use.kind) {
      push({
        key: use.key,
        problem: `${use.key} writes ${use.kind} values but ${name} is ${field.type}`,
        fix: `convert with as: ${sfKind} (or map to ${sfKind} values) in ${use.key}`,
      });
    }
    const picklist = field.type === 'picklist' || field.type === 'multipicklist';
    for (const value of picklist ? (use.values ?? []) : []) {
      if (!field.picklistValues.includes(value)) {
        push({
          key: use.key,
          problem: `"${value}" is not an active picklist value of ${name}`,
          fix: `add "${value}" to the picklist of ${name} (Setup > Object Manager), or change ${use.key}`,
        });
      }
    }
  }
  return problems;
}

/**
 * Follows a Salesforce field path across relationships (`Account.Owner.Name` on Opportunity: the
 * reference field whose relationshipName is `Account`, its referenceTo object, and so on).
 * `pending` names an object not described yet; `field` is undefined when the last object lacks it.
 */
export function resolveSalesforcePath(
  describes: ReadonlyMap<string, SObjectDescribe | undefined>,
  sobject: string,
  path: string,
): { field: FieldDescribe | undefined; sobject: string } | { pending: string } | { problem: string } {
  const segments = path.split('.');
  let current = sobject;
  for (const [i, segment] of segments.entries()) {
    if (!describes.has(current)) return { pending: current };
    const describe = describes.get(current);
    if (!describe)
      return {
        problem: `${current} (on the path ${sobject}.${path}) does not exist or is not visible to the integration user`,
      };
    if (i === segments.length - 1) return { field: describe.field(segment), sobject: current };
    const lower = segment.toLowerCase();
    const reference = describe.fields.find((f) => f.relationshipName?.toLowerCase() === lower);
    const next = reference?.referenceTo[0];
    if (!next)
      return { problem: `${current} has no relationship ${segment} (on the path ${sobject}.${path})` };
    current = next;
  }
  return { problem: `${sobject}.${path} is not a field path` };
}

/** The Salesforce objects {@link checkSalesforceFields} needs described (relationship targets are described as found). */
export function sobjectsToDescribe(config: ConnectorConfig, org: OrgFacts): string[] {
  return [...new Set(salesforceFieldUses(config, org).map((u) => u.sobject))];
}

/** The fields the connector writes itself on each mapped target: a mapping of them is refused before go-live. */
export function connectorOwnedTargets(config: ConnectorConfig): Readonly<Record<string, readonly string[]>> {
  return {
    customers: [config.externalIds.account],
    products: [config.externalIds.product],
    salesOrders: [
      'dataAreaId',
      'OrderingCustomerAccountNumber',
      'InvoiceCustomerAccountNumber',
      'CurrencyCode',
      'CustomersOrderReference',
      'SalesOrderNumber',
    ],
    salesOrderLines: [
      'dataAreaId',
      'SalesOrderNumber',
      'ItemNumber',
      'CurrencyCode',
      'LineNumber',
      config.salesOrders.lineIdField,
    ],
    accountWriteBack: [
      'dataAreaId',
      'CustomerAccount',
      'PartyType',
      'CustomerGroupId',
      'SalesCurrencyCode',
      config.accountWriteBack.salesforceIdField,
    ],
  };
}

/** Problems of the `mappings.*` configuration itself: targets the connector owns, price book targets besides UnitPrice. */
export function checkMappingTargets(config: ConnectorConfig): CheckProblem[] {
  const problems: CheckProblem[] = [];
  const owned = connectorOwnedTargets(config);
  for (const [flow, targets] of Object.entries(owned)) {
    const configured = config.mappings[flow as keyof typeof config.mappings];
    for (const target of Object.keys(configured)) {
      if (!targets.some((t) => t.toLowerCase() === target.toLowerCase())) continue;
      problems.push({
        key: `mappings.${flow}.${target}`,
        problem: `the connector writes ${target} itself (it keys, addresses or resolves the record)`,
        fix: `remove mappings.${flow}.${target}; see docs/MAPPING.md (fields the connector owns)`,
      });
    }
  }
  for (const target of Object.keys(config.mappings.priceBookEntries)) {
    if (target === 'UnitPrice') continue;
    problems.push({
      key: `mappings.priceBookEntries.${target}`,
      problem: "price book entries map UnitPrice only (the connector writes the entry's other fields)",
      fix: `remove mappings.priceBookEntries.${target}`,
    });
  }
  return problems;
}

/**
 * The field check as a step of the start-up check (`checkConfiguration(…, { fieldCheck })`): reads
 * the model (cached by the caller), describes each object the uses name (and the objects their
 * relationship paths reach), and returns the problems. Without a model (`$metadata` could not be
 * read; the caller says so) only Salesforce is checked.
 */
export function goLiveFieldCheck(
  config: ConnectorConfig,
  metadata: () => Promise<CsdlModel | undefined>,
): (context: CheckStepContext) => Promise<CheckProblem[]> {
  return async ({ describe, org }) => {
    const model = await metadata();
    const describes = new Map<string, SObjectDescribe | undefined>();
    for (const sobject of sobjectsToDescribe(config, org)) {
      describes.set(sobject, await describe(sobject));
    }
    const paths = salesforceFieldUses(config, org).filter((u) => u.field.includes('.'));
    // Each round describes the objects the next relationship of some path reaches; paths are short.
    for (let round = 0; round < 5; round++) {
      const pending = new Set<string>();
      for (const use of paths) {
        const resolved = resolveSalesforcePath(describes, use.sobject, use.field);
        if ('pending' in resolved) pending.add(resolved.pending);
      }
      if (pending.size === 0) break;
      for (const sobject of pending) describes.set(sobject, await describe(sobject));
    }
    return [
      ...checkMappingTargets(config),
      ...(model ? checkDynamicsFields(config, model) : []),
      ...checkSalesforceFields(config, describes, org, model),
    ];
  };
}

export type { DynamicsFieldUse, SalesforceFieldUse };
