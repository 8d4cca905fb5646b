/**
 * The Dynamics 365 Finance & Operations sandbox: a local stand-in for an F&O environment (OData
 * `/data/`, business events) and its Microsoft Entra ID tenant (client-credentials tokens), on two
 * loopback HTTPS ports. Data is seeded deterministically per seed and generated on demand.
 */
import { randomBytes } from 'node:crypto';
import { createSandboxClock, type SandboxClock } from '#sandbox/shared/clock.ts';
import { createFaultInjector, type FaultPlan, validateFaultPlan } from '#sandbox/shared/faults.ts';
import { seededRandom } from '#sandbox/shared/random.ts';
import { ensureSandboxTls, type SandboxTls } from '#sandbox/shared/tls.ts';
import { Authority } from './auth.ts';
import { BusinessEventPublisher } from './business-events.ts';
import { CallCounters, createControl, type DynamicsControl } from './control.ts';
import { LEGAL_ENTITIES, splitByShare } from './data.ts';
import { createDatabase, type Database } from './entities.ts';
import { LineNumbering } from './line-numbers.ts';
import {
  type NumberSequenceOptions,
  NumberSequences,
  parseNumber,
  type SequenceSeed,
} from './number-sequences.ts';
import type { ODataContext } from './odata.ts';
import { ReadEngine } from './query.ts';
import { createAuthorityServer, createEnvironmentServer, listen, shutdown } from './server.ts';
import type { WriteContext } from './writes.ts';

export type { BusinessEvent, BusinessEventsConfig, ParkedEvent } from './business-events.ts';
export type { DynamicsControl, EntityKey, EntityRecord, ListOptions } from './control.ts';
export type { RemoteExecutionContext } from './data-events.ts';
export type { FilterNode, LiteralNode } from './filter.ts';
export { FilterError, parseFilter } from './filter.ts';
export type {
  NumberSequenceOptions,
  NumberSequenceSettings,
  NumberSequenceState,
  SequenceKind,
} from './number-sequences.ts';
export { decodeQueryComponent, parseQueryString } from './query.ts';

export interface DynamicsSandboxOptions {
  /** Seed of all generated data; default 1. */
  seed?: number;
  /** Customers across all legal entities; default 3000. Generated on demand (scales to millions). */
  customers?: number;
  /** Released products per the same split; default 2000. */
  products?: number;
  /** Seeded sales orders (with 1–4 lines each); default 300. */
  salesOrders?: number;
  /** Server-driven page size; default and maximum 10000. */
  pageSize?: number;
  /** Token lifetime in seconds, fixed or a random range per token; default 3600..5400 like Entra. */
  tokenLifetimeSeconds?: number | { min: number; max: number };
  /** Fixed latency added to every OData call (benchmarks); default 0. */
  latencyMs?: number;
  /** Longest request URL (path + query, encoded) accepted before a 414; default 16384 (unconfirmed for F&O). */
  maxUrlLength?: number;
  faults?: FaultPlan;
  clock?: SandboxClock;
  /** Default: `await ensureSandboxTls()`. */
  tls?: SandboxTls;
  /** Default '127.0.0.1'. */
  host?: string;
  /** Default 0 (ephemeral). */
  odataPort?: number;
  /** Default 0 (ephemeral). */
  authorityPort?: number;
  tenantId?: string;
  clientId?: string;
  clientSecret?: string;
  /** The default company of the user the app is mapped to; default 'usmf'. */
  defaultCompany?: string;
  /**
   * Adds a customer-style extension field (DateTimeOffset, e.g. 'MLModifiedDateTime') to CustomersV3
   * and ReleasedProductsV2, stamped on every write. Standard F&O has none; default: absent.
   */
  modifiedField?: string;
  /**
   * Customer account and sales order number sequences, for every company or `byCompany`. Default:
   * F&O's usual set-up, not Manual and no changes allowed (a caller's number is refused), formats
   * `US-######`/`DE-…`/`GB-…` and `SO-######`. See number-sequences.ts.
   */
  numberSequences?: NumberSequenceOptions;
  /**
   * SalesOrderLines.LineNumber from LineCreationSequenceNumber whatever the caller sent
   * (DefaultLineNumberFromLineCreationSequenceNumber = Yes); default true. False keeps a caller's
   * LineNumber (UNCONFIRMED that F&O can be made to).
   */
  lineNumberFromCreationSequence?: boolean;
}

/** Where each company's sequences start: one past the example business's own numbers. */
function sequenceSeed(db: Database, customers: number): SequenceSeed {
  const counts = splitByShare(customers);
  const width = Math.max(6, String(Math.max(0, ...counts)).length);
  return {
    defaultFormat: (kind, company) => {
      if (kind === 'salesOrders') return 'SO-######';
      const le = LEGAL_ENTITIES.find((l) => l.id === company);
      return `${le?.accountPrefix ?? ''}${'#'.repeat(width)}`;
    },
    initialNext: (kind, company, format) => {
      // Customers: the seeded ones are numbered 1..count per company (a caller's number never moves Next).
      if (kind === 'customerAccounts')
        return (counts[LEGAL_ENTITIES.findIndex((l) => l.id === company)] ?? 0) + 1;
      // Sales orders are all materialised: one past the highest that fits the format.
      let highest = 0;
      for (const s of db.stores.SalesOrderHeadersV2?.scan(new Set([company])) ?? []) {
        const n = parseNumber(format, String(s.rec.SalesOrderNumber ?? ''));
        if (n !== undefined && n > highest) highest = n;
      }
      return highest + 1;
    },
  };
}

export interface DynamicsSandboxInfo {
  /** `https://127.0.0.1:<port>`: the token audience, no trailing slash. */
  environmentUrl: string;
  /** `environmentUrl + '/data/'`. */
  odataUrl: string;
  /** `https://127.0.0.1:<port2>`: the Entra stand-in. */
  authorityHost: string;
  tenantId: string;
  clientId: string;
  clientSecret: string;
  /** The CA certificate file clients must trust. */
  caFile: string;
  /** Base URL of the HTTP control surface (`environmentUrl + '/_sandbox'`). */
  controlUrl: string;
  /** Bearer token the HTTP control surface requires. */
  controlToken: string;
}

export interface DynamicsSandbox {
  readonly info: DynamicsSandboxInfo;
  readonly control: DynamicsControl;
  /** Stops both listeners and business-event delivery. */
  close(): Promise<void>;
}

function guidFromSeed(seed: number, salt: number): string {
  const r = seededRandom((seed * 2654435761) ^ salt);
  const hex = (n: number) => Array.from({ length: n }, () => r.int(0, 15).toString(16)).join('');
  return `${hex(8)}-${hex(4)}-4${hex(3)}-${['8', '9', 'a', 'b'][r.int(0, 3)]}${hex(3)}-${hex(12)}`;
}

function positiveInt(
  name: string,
  value: number | undefined,
  fallback: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < 0 || v > max)
    throw new RangeError(`${name} must be an integer in [0, ${max}], got ${v}`);
  return v;
}

/** Starts the sandbox on two loopback HTTPS ports and returns its connection info and control surface. */
export async function startDynamicsSandbox(options: DynamicsSandboxOptions = {}): Promise<DynamicsSandbox> {
  const seed = options.seed ?? 1;
  const pageSize = positiveInt('pageSize', options.pageSize, 10_000, 10_000);
  if (pageSize < 1) throw new RangeError('pageSize must be at least 1');
  const lifetime = options.tokenLifetimeSeconds ?? { min: 3600, max: 5400 };
  const [minLife, maxLife] =
    typeof lifetime === 'number' ? [lifetime, lifetime] : [lifetime.min, lifetime.max];
  if (!(Number.isInteger(minLife) && Number.isInteger(maxLife) && minLife > 0 && minLife <= maxLife)) {
    throw new RangeError('tokenLifetimeSeconds must be a positive integer or {min, max} with 0 < min <= max');
  }
  const tenantId = options.tenantId ?? guidFromSeed(seed, 0x7e4a);
  const clientId = options.clientId ?? guidFromSeed(seed, 0xc11e);
  const clientSecret = options.clientSecret ?? `sbx~${guidFromSeed(seed, 0x5ec7).replace(/-/g, '')}`;
  const defaultCompany = (options.defaultCompany ?? 'usmf').toLowerCase();
  if (!LEGAL_ENTITIES.some((le) => le.id === defaultCompany)) {
    throw new RangeError(`defaultCompany must be one of ${LEGAL_ENTITIES.map((le) => le.id).join(', ')}`);
  }
  const host = options.host ?? '127.0.0.1';
  const clock = options.clock ?? createSandboxClock();
  const tls = options.tls ?? (await ensureSandboxTls());
  const faults = createFaultInjector(options.faults ? validateFaultPlan(options.faults) : { rules: [] });
  const counters = new CallCounters();
  const db = createDatabase({
    seed,
    customers: positiveInt('customers', options.customers, 3000),
    products: positiveInt('products', options.products, 2000),
    salesOrders: positiveInt('salesOrders', options.salesOrders, 300),
    modifiedField: options.modifiedField,
  });
  const engine = new ReadEngine();
  const controlToken = randomBytes(24).toString('base64url');
  const hostForUrl = host.includes(':') ? `[${host}]` : host;

  let environmentUrl = '';
  let authorityHost = '';
  const authority = new Authority({
    tenantId,
    clientId,
    clientSecret,
    environmentUrl: () => environmentUrl,
    authorityHost: () => authorityHost,
    clock,
    lifetime,
    random: seededRandom(seed ^ 0x70c3),
  });
  const events = new BusinessEventPublisher(clock, authority.servicePrincipalObjectId, seed);
  const write: WriteContext = {
    db,
    defaultCompany,
    onChange: (change) => events.publish(change),
    now: () => clock.now(),
    sequences: new NumberSequences(
      sequenceSeed(db, positiveInt('customers', options.customers, 3000)),
      options.numberSequences,
      seed,
    ),
    lineNumbers: new LineNumbering({ fromCreationSequence: options.lineNumberFromCreationSequence ?? true }),
  };
  const control = createControl({ db, engine, write, counters, faults, clock, events });
  const odata = (): ODataContext => ({ ...write, engine, environmentUrl, pageSize });

  const authorityServer = createAuthorityServer(tls, { authority, faults, counters, clock });
  const environmentServer = createEnvironmentServer(tls, {
    odata,
    authority,
    authorityHost: () => authorityHost,
    tenantId,
    faults,
    counters,
    clock,
    latencyMs: positiveInt('latencyMs', options.latencyMs, 0),
    maxUrlLength: positiveInt('maxUrlLength', options.maxUrlLength, 16_384),
    control,
    controlToken,
  });
  const authorityPort = await listen(authorityServer, host, options.authorityPort ?? 0);
  let odataPort: number;
  try {
    odataPort = await listen(environmentServer, host, options.odataPort ?? 0);
  } catch (err) {
    await shutdown(authorityServer);
    throw err;
  }
  environmentUrl = `https://${hostForUrl}:${odataPort}`;
  authorityHost = `https://${hostForUrl}:${authorityPort}`;

  return {
    info: {
      environmentUrl,
      odataUrl: `${environmentUrl}/data/`,
      authorityHost,
      tenantId,
      clientId,
      clientSecret,
      caFile: tls.caFile,
      controlUrl: `${environmentUrl}/_sandbox`,
      controlToken,
    },
    control,
    async close() {
      events.close();
      await Promise.all([shutdown(environmentServer), shutdown(authorityServer)]);
    },
  };
}
