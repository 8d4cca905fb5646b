/**
 * The start-up check: the configuration against the live systems. Legal entities and currencies
 * must exist in Dynamics; the External ID fields must exist in Salesforce, be External IDs and be
 * unique; the write-back fields must exist. Every problem is reported at once, each with its fix;
 * the engine refuses to run while any remains.
 */

import { ConnectorError, HttpError } from '#base/errors.ts';
import type { ConnectorConfig } from '#core/config/schema.ts';
import type { OrgFacts } from '#core/mapping/legal-entity.ts';
import type { DynamicsApi, SalesforceApi } from '#core/ports/apis.ts';
import {
  type AnyEntity,
  Currencies,
  CustomersV3,
  Ledgers,
  LegalEntities,
  SalesOrderLines,
} from '#core/ports/dynamics/entities.ts';
import { checkExternalId, type SObjectDescribe } from '#core/ports/salesforce/describe.ts';
import type { LegalEntityInfo, ReferenceData } from './context.ts';
import { checkKeyFormat } from './key-format.ts';
import { checkOrgShape, readOrgShape } from './org-shape.ts';

export interface CheckProblem {
  /** The configuration key concerned, e.g. `legalEntities`. */
  readonly key: string;
  readonly problem: string;
  readonly fix: string;
}

/** Thrown when the configuration does not fit the live systems; `problems` lists them all. */
export class ConfigurationCheckError extends ConnectorError {
  override name = 'ConfigurationCheckError';
  readonly problems: readonly CheckProblem[];

  constructor(problems: readonly CheckProblem[]) {
    super(
      `the configuration does not fit the connected systems:\n${problems
        .map((p) => `  - ${p.key}: ${p.problem}\n    fix: ${p.fix}`)
        .join('\n')}`,
      { code: 'CONFIG_CHECK_FAILED' },
    );
    this.problems = problems;
  }
}

/**
 * The Dynamics fields the exactly-once procedures carry Salesforce ids in must exist: a one-record
 * read that `$select`s the field (F&O answers 400 for a property the entity lacks).
 */
async function checkDynamicsFields(config: ConnectorConfig, dynamics: DynamicsApi): Promise<CheckProblem[]> {
  const checks: [string, AnyEntity, string, boolean, string][] = [
    [
      'accountWriteBack.salesforceIdField',
      CustomersV3,
      config.accountWriteBack.salesforceIdField,
      config.flows.accountWriteBack.enabled,
      'the Salesforce Account Id',
    ],
    [
      'salesOrders.lineIdField',
      SalesOrderLines,
      config.salesOrders.lineIdField,
      config.flows.wonOpportunities.enabled || config.flows.activatedOrders.enabled,
      'the Salesforce line id',
    ],
  ];
  const problems: CheckProblem[] = [];
  const company = config.legalEntities[0];
  for (const [key, entity, field, needed, carries] of checks) {
    if (!needed || company === undefined) continue;
    try {
      for await (const _ of dynamics.read(entity, { company, select: [field], top: 1 })) break;
    } catch (error) {
      if (!(error instanceof HttpError && error.status === 400)) throw error;
      problems.push({
        key,
        problem: `${entity.name}.${field} does not exist in Dynamics (${error.message})`,
        fix: `name a text field of ${entity.name} (at least 18 characters) that your company does not otherwise use, to carry ${carries}`,
      });
    }
  }
  return problems;
}

/** What an added step of the start-up check gets: the shared describe (one call per object). */
export interface CheckStepContext {
  readonly describe: (sobject: string) => Promise<SObjectDescribe | undefined>;
  /** What the org has (multi-currency, State and Country/Territory Picklists, Orders). */
  readonly org: OrgFacts;
}

/** Optional steps of the start-up check. */
export interface CheckOptions {
  /**
   * The go-live field check (`goLiveFieldCheck` in field-check.ts): every field the connector and
   * the configuration use against the customer's `$metadata` and Salesforce describe. Ping and the
   * local engine pass it; the Lambda start-up check does not, so neither it nor the CSDL reader
   * weighs on the Lambda bundles (`ping --stack` runs it for a deployed stage).
   */
  readonly fieldCheck?: ((context: CheckStepContext) => Promise<readonly CheckProblem[]>) | undefined;
}

/** Reads the reference data and checks the configuration against it; throws ConfigurationCheckError. */
export async function checkConfiguration(
  config: ConnectorConfig,
  dynamics: DynamicsApi,
  salesforce: SalesforceApi,
  options: CheckOptions = {},
): Promise<ReferenceData> {
  const problems: CheckProblem[] = [];

  // A company's accounting currency is on its ledger (Ledgers), not on LegalEntities. It stays
  // the Dynamics code: `currencies.map` translates it where it meets Salesforce.
  const accounting = new Map<string, string>();
  for await (const ledger of dynamics.read(Ledgers, { select: ['LegalEntityId', 'AccountingCurrency'] })) {
    const id = String(ledger.LegalEntityId ?? '').toLowerCase();
    if (id && typeof ledger.AccountingCurrency === 'string') accounting.set(id, ledger.AccountingCurrency);
  }
  const legalEntities = new Map<string, LegalEntityInfo>();
  for await (const le of dynamics.read(LegalEntities, {
    select: ['LegalEntityId', 'Name', 'AddressCountryRegionISOCode'],
  })) {
    const id = String(le.LegalEntityId ?? '').toLowerCase();
    if (!id) continue;
    const country = le.AddressCountryRegionISOCode;
    legalEntities.set(id, {
      id,
      name: String(le.Name ?? id),
      currency: (accounting.get(id) ?? '').toUpperCase(),
      country: typeof country === 'string' && country ? country : undefined,
    });
  }
  const currencies = new Set<string>();
  for await (const c of dynamics.read(Currencies, { select: ['CurrencyCode'] })) {
    if (typeof c.CurrencyCode === 'string') currencies.add(c.CurrencyCode.toUpperCase());
  }
  for (const le of config.legalEntities) {
    const found = legalEntities.get(le);
    if (!found) {
      problems.push({
        key: 'legalEntities',
        problem: `legal entity "${le}" does not exist in Dynamics (found: ${[...legalEntities.keys()].join(', ') || 'none'})`,
        fix: "correct the dataAreaId, or map the connector's Entra application to a user that can see this company",
      });
    } else if (found.currency && !currencies.has(found.currency)) {
      problems.push({
        key: 'currencies.map',
        problem: `legal entity "${le}" uses currency ${found.currency}, which is not in Dynamics Currencies`,
        fix: 'map the currency to an existing code under currencies.map',
      });
    }
  }
  for (const code of [...Object.keys(config.currencies.map), ...config.currencies.priceBook]) {
    if (!currencies.has(code) && !Object.values(config.currencies.map).includes(code)) {
      problems.push({
        key: 'currencies',
        problem: `currency ${code} does not exist in Dynamics`,
        fix: 'use an ISO code from Currencies',
      });
    }
  }

  problems.push(...(await checkDynamicsFields(config, dynamics)));

  const externalIds: [string, string, string, boolean][] = [
    [
      'externalIds.account',
      'Account',
      config.externalIds.account,
      config.flows.customers.enabled || config.flows.accountWriteBack.enabled,
    ],
    ['externalIds.product', 'Product2', config.externalIds.product, config.flows.products.enabled],
  ];
  // Each object is described once, whatever the number of checks on it.
  const describes = new Map<string, Promise<SObjectDescribe | undefined>>();
  const describe = (sobject: string) => {
    let described = describes.get(sobject);
    if (!described) {
      described = salesforce.describe(sobject);
      describes.set(sobject, described);
    }
    return described;
  };
  for (const [key, sobject, field, needed] of externalIds) {
    if (!needed) continue;
    const check = checkExternalId(sobject, await describe(sobject), field);
    if (!check.ok) {
      problems.push({
        key,
        problem: check.message,
        fix: `in Salesforce Setup, create ${sobject}.${field} as a Text field marked External ID and Unique, and give the integration user access`,
      });
    }
  }
  const writeBack: [string, string, string, boolean][] = [
    [
      'externalIds.opportunitySalesOrder',
      'Opportunity',
      config.externalIds.opportunitySalesOrder,
      config.flows.wonOpportunities.enabled,
    ],
    [
      'externalIds.orderSalesOrder',
      'Order',
      config.externalIds.orderSalesOrder,
      config.flows.activatedOrders.enabled,
    ],
  ];
  const account = await describe('Account');
  const salesforceOrg = await readOrgShape(salesforce, describe);
  const multiCurrency = salesforceOrg.multiCurrency;
  problems.push(...checkOrgShape(config, salesforceOrg, legalEntities));
  config.legalEntityRules.forEach((rule, i) => {
    if (!('field' in rule) || account?.field(rule.field)) return;
    problems.push({
      key: `legalEntityRules.${i}.field`,
      problem: `Account.${rule.field} does not exist or is not visible to the integration user`,
      fix: `create Account.${rule.field} (Text, 4) for the legal entity, or remove the rule`,
    });
  });
  for (const [key, sobject, field, needed] of writeBack) {
    if (!needed) continue;
    const described = await describe(sobject);
    // An org without Orders is told to enable them (checkOrgShape), not to create the field.
    if (!described && sobject === 'Order' && !salesforceOrg.ordersEnabled) continue;
    const f = described?.field(field);
    if (!f?.updateable) {
      problems.push({
        key,
        problem: `${sobject}.${field} ${f ? 'is not updateable by the integration user' : 'does not exist'}`,
        fix: `create ${sobject}.${field} (Text, 40) for the Dynamics sales order number and grant edit access`,
      });
    }
  }

  let standardPricebookId = '';
  if (config.flows.products.enabled) {
    for await (const pb of salesforce.query<{ Id: string }>(
      'SELECT Id FROM Pricebook2 WHERE IsStandard = true LIMIT 1',
    )) {
      standardPricebookId = pb.Id;
    }
    if (!standardPricebookId) {
      problems.push({
        key: 'flows.products',
        problem: 'the Standard Price Book is not visible to the integration user',
        fix: 'grant the integration user read access to price books (Pricebook2)',
      });
    }
  }

  // Unprefixed External IDs under a prefixed format would be created again: migrate first.
  if (!problems.some((p) => p.key.startsWith('externalIds.')))
    problems.push(...(await checkKeyFormat(config, salesforce)));

  if (options.fieldCheck)
    problems.push(...(await options.fieldCheck({ describe, org: { multiCurrency, salesforceOrg } })));

  if (problems.length > 0) throw new ConfigurationCheckError(problems);
  return { legalEntities, currencies, standardPricebookId, multiCurrency, salesforceOrg };
}
