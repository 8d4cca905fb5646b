/**
 * The Salesforce org sandbox (REST side): a local stand-in for an org that the connector, its
 * tests, benchmarks and demo run against. Two HTTPS origins (My Domain for OAuth, the instance for
 * REST/Bulk), an in-memory org with the schema of `objects.ts`, a change feed for CDC, fault
 * injection, a sandbox clock and a control surface.
 */
import { randomBytes } from 'node:crypto';
import { createSandboxClock, type SandboxClock } from '#sandbox/shared/clock.ts';
import { createFaultInjector, type FaultInjector, type FaultPlan } from '#sandbox/shared/faults.ts';
import { ensureSandboxTls, type SandboxTls } from '#sandbox/shared/tls.ts';
import { AuthServer } from './auth.ts';
import { BulkIngest } from './bulk.ts';
import { type ChangeFeed, createChangeFeed } from './change-feed.ts';
import { createControl, type SalesforceControl } from './control.ts';
import { handleControl } from './control-http.ts';
import { ApiUsage, CallCounters } from './limits.ts';
import type { FieldDef, ObjectDef } from './objects.ts';
import { Org } from './org.ts';
import type { ValidationRule } from './rules.ts';
import { startServers } from './server.ts';

export type {
  GapChangeType,
  OpportunityInput,
  OrderInput,
  ProductLine,
  SalesforceControl,
} from './control.ts';
export { ControlError } from './control.ts';
export type { ValidationRule } from './rules.ts';
export type { Condition, Literal, SoqlQuery } from './soql.ts';
export { parseSoql, SoqlSyntaxError } from './soql.ts';

export interface SalesforceSandboxOptions {
  /** Seed for generated data (transaction keys, result order). Default 1. */
  seed?: number;
  /** Default false; when true, CurrencyIsoCode fields exist. */
  multiCurrency?: boolean;
  /** Active currencies in multi-currency mode (the first is corporate). Default ['USD','EUR','GBP']. */
  currencies?: string[];
  /** Custom fields per object (a `required` one refuses records without it). Default DEFAULT_CUSTOM_FIELDS from objects.ts. */
  customFields?: Readonly<Record<string, readonly FieldDef[]>>;
  /**
   * State and Country/Territory Picklists. Default true: the `…CountryCode`/`…StateCode` address
   * fields exist and names and codes are validated (`address-picklists.ts`). False: an older org,
   * free-text BillingCountry/BillingState and no Code fields (a SOQL naming them fails INVALID_FIELD).
   */
  stateCountryPicklists?: boolean;
  /** Orders enabled. Default true; false: Order and OrderItem do not exist (INVALID_TYPE / NOT_FOUND). */
  orders?: boolean;
  /** The org's validation rules (FIELD_CUSTOM_VALIDATION_EXCEPTION). Default none. */
  validationRules?: ValidationRule[];
  /** statusCode of a duplicate standard price (reference: unconfirmed). Default FIELD_INTEGRITY_EXCEPTION. */
  duplicatePriceStatusCode?: 'FIELD_INTEGRITY_EXCEPTION' | 'DUPLICATE_VALUE';
  /** Daily API allocation on a rolling 24 h window of the sandbox clock. Default 100000. */
  dailyApiLimit?: number;
  /** Fixed latency added to each REST call (benchmarks). Default 0. */
  latencyMs?: number;
  /** How long (real ms) a Bulk 2.0 job takes from UploadComplete to a terminal state. Default 200. */
  bulkProcessingDelayMs?: number;
  /** A Bulk job's upload limit in bytes of base64 content. Default 150 MB, as in Salesforce. */
  bulkMaxUploadBase64Bytes?: number;
  /** Status of a single-record upsert that updated (reference: unconfirmed). Default 200. */
  upsertUpdatedStatus?: 200 | 204;
  /** Inactivity after which an access token expires, on the sandbox clock. Default 2 h. */
  sessionTimeoutMs?: number;
  /**
   * Initial fault plan. Operation names: `token`, `rest.query`, `rest.sobject`, `rest.composite`,
   * `rest.bulk`, `rest.describe`, `rest.limits`, `rest.versions`.
   */
  faults?: FaultPlan;
  clock?: SandboxClock;
  tls?: SandboxTls;
  /** Bind address. Default 127.0.0.1. */
  host?: string;
  /** Default 0 (ephemeral). */
  myDomainPort?: number;
  /** Default 0 (ephemeral). */
  instancePort?: number;
  clientId?: string;
  clientSecret?: string;
}

export interface SalesforceSandboxInfo {
  /** `https://localhost:<port>`: the token endpoint lives here. */
  readonly myDomainUrl: string;
  /** `https://127.0.0.1:<port>`: REST lives here (a different origin on purpose). */
  readonly instanceUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly orgId: string;
  readonly caFile: string;
  readonly apiVersion: string;
  /** Base URL of the HTTP control surface (`<instanceUrl>/_sandbox`). */
  readonly controlUrl: string;
  readonly controlToken: string;
}

export interface SalesforceSandbox {
  readonly info: SalesforceSandboxInfo;
  readonly control: SalesforceControl;
  readonly changeFeed: ChangeFeed;
  readonly schema: ReadonlyMap<string, ObjectDef>;
  readonly clock: SandboxClock;
  readonly faults: FaultInjector;
  /** Validates an access token this sandbox minted (for the Pub/Sub server's auth): the org/user it belongs to, or undefined if invalid/expired. */
  verifyAccessToken(token: string): { orgId: string; userId: string } | undefined;
  close(): Promise<void>;
}

/** Deterministic default connected-app credentials of the sandbox org. */
export const DEFAULT_CLIENT_ID = '3MVG9sandbox.ml-connector.consumer-key';
export const DEFAULT_CLIENT_SECRET = 'sandbox-consumer-secret-0123456789ABCDEF';

/** Starts the sandbox org; resolves once both origins listen. */
export async function startSalesforceSandbox(
  options: SalesforceSandboxOptions = {},
): Promise<SalesforceSandbox> {
  const clock = options.clock ?? createSandboxClock();
  const faults = createFaultInjector(options.faults ?? { rules: [] });
  const tls = options.tls ?? (await ensureSandboxTls());
  const host = options.host ?? '127.0.0.1';
  const changeFeed = createChangeFeed();
  const org = new Org({
    seed: options.seed ?? 1,
    multiCurrency: options.multiCurrency ?? false,
    currencies: options.currencies ?? ['USD', 'EUR', 'GBP'],
    ...(options.customFields ? { customFields: options.customFields } : {}),
    ...(options.stateCountryPicklists !== undefined
      ? { stateCountryPicklists: options.stateCountryPicklists }
      : {}),
    ...(options.orders !== undefined ? { orders: options.orders } : {}),
    ...(options.validationRules ? { validationRules: options.validationRules } : {}),
    ...(options.duplicatePriceStatusCode
      ? { duplicatePriceStatusCode: options.duplicatePriceStatusCode }
      : {}),
    clock,
    feed: changeFeed,
  });
  const usage = new ApiUsage(options.dailyApiLimit ?? 100_000, clock);
  const counters = new CallCounters();
  const bulk = new BulkIngest(org, {
    processingDelayMs: options.bulkProcessingDelayMs ?? 200,
    ...(options.bulkMaxUploadBase64Bytes ? { maxUploadBase64Bytes: options.bulkMaxUploadBase64Bytes } : {}),
  });
  const control = createControl({ org, clock, faults, usage, counters, feed: changeFeed });
  const controlToken = randomBytes(24).toString('base64url');
  const clientId = options.clientId ?? DEFAULT_CLIENT_ID;
  const clientSecret = options.clientSecret ?? DEFAULT_CLIENT_SECRET;
  let instanceUrl = '';
  const auth = new AuthServer({
    clientId,
    clientSecret,
    orgId: org.orgId,
    userId: org.integrationUserId,
    get instanceUrl() {
      return instanceUrl;
    },
    clock,
    sessionTimeoutMs: options.sessionTimeoutMs ?? 2 * 3600_000,
  });
  const servers = await startServers(
    {
      org,
      auth,
      bulk,
      faults,
      usage,
      counters,
      latencyMs: options.latencyMs ?? 0,
      upsertUpdatedStatus: options.upsertUpdatedStatus ?? 200,
      control: (req, url, body) => handleControl(control, clock, controlToken, req, url, body),
    },
    tls,
    host,
    { myDomain: options.myDomainPort ?? 0, instance: options.instancePort ?? 0 },
  );
  instanceUrl = `https://127.0.0.1:${servers.instancePort}`;
  const info: SalesforceSandboxInfo = {
    myDomainUrl: `https://localhost:${servers.myDomainPort}`,
    instanceUrl,
    clientId,
    clientSecret,
    orgId: org.orgId,
    caFile: tls.caFile,
    apiVersion: '63.0',
    controlUrl: `${instanceUrl}/_sandbox`,
    controlToken,
  };
  return {
    info,
    control,
    changeFeed,
    schema: org.schema,
    clock,
    faults,
    verifyAccessToken: (token) => auth.verify(token, false),
    close: async () => {
      bulk.close();
      await servers.close();
    },
  };
}
