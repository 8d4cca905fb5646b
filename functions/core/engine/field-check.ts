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
import type { SObjectDescribe } from '#core/ports/salesforce/describe.ts';
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
    const id = `${p.key}\u0000${p.problem}`;
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
    const field = describe.field(use.field);
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
    for (const value of use.values ?? []) {
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

/** The Salesforce objects {@link checkSalesforceFields} needs described. */
export function sobjectsToDescribe(config: ConnectorConfig, org: OrgFacts): string[] {
  return [...new Set(salesforceFieldUses(config, org).map((u) => u.sobject))];
}

/**
 * The field check as a step of the start-up check (`checkConfiguration(…, { fieldCheck })`): reads
 * the model (cached by the caller), describes each object the uses name, and returns the problems.
 * Without a model (`$metadata` could not be read; the caller says so) only Salesforce is checked.
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
    return [
      ...(model ? checkDynamicsFields(config, model) : []),
      ...checkSalesforceFields(config, describes, org, model),
    ];
  };
}

export type { DynamicsFieldUse, SalesforceFieldUse };
