/**
 * Benchmark: what a mapping change costs. N customers (default 10,000) are synced with a payment
 * terms value map; an unchanged re-run follows; then the map's entry for COD changes (only COD
 * customers' Accounts change), then a target is added (every Account changes). Each step is one
 * backfill; it reports the records read and written and the calls to each system, so the cost of a
 * change is its records, not the whole table. Prints one JSON document.
 *
 *   scripts/node24 node bench/mapping-change.ts [--customers=10000] [--latency=0]
 */
import { sandboxConfig } from '#cli/demo-config.ts';
import type { ConnectorConfigInput } from '#core/config/schema.ts';
import { runDynamicsBackfill } from '#core/triggers/dynamics-backfill.ts';
import { ensureSandboxTls, trustCaFile } from '#sandbox/shared/tls.ts';
import { type EngineHarness, startEngineHarness } from '#test/support/engine-harness.ts';
import { MAPPING_ORG_FIELDS } from '#test/support/mapping-org.ts';

const TERMS = { Net10: 'Net 10', Net30: 'Net 30', Net45: 'Net 45', Net60: 'Net 60', COD: 'Cash on delivery' };

/** The three mappings of the benchmark: before, after the value-map change, after a target is added. */
export const MAPPING_STEPS: readonly { name: string; mappings: ConnectorConfigInput['mappings'] }[] = [
  { name: 'initial', mappings: { customers: { Payment_Terms__c: { field: 'PaymentTerms', map: TERMS } } } },
  { name: 'unchanged', mappings: { customers: { Payment_Terms__c: { field: 'PaymentTerms', map: TERMS } } } },
  {
    name: 'value map: COD → Cash',
    mappings: { customers: { Payment_Terms__c: { field: 'PaymentTerms', map: { ...TERMS, COD: 'Cash' } } } },
  },
  {
    name: 'target added: Credit_Limit__c',
    mappings: {
      customers: {
        Payment_Terms__c: { field: 'PaymentTerms', map: { ...TERMS, COD: 'Cash' } },
        Credit_Limit__c: 'CreditLimit',
      },
    },
  },
];

export interface StepCost {
  readonly step: string;
  readonly read: number;
  readonly upserted: number;
  readonly skipped: number;
  readonly dynamicsCalls: number;
  readonly salesforceCalls: number;
}

/** Runs the steps on a harness started with MAPPING_ORG_FIELDS; one backfill of CustomersV3 per step. */
export async function measureMappingChange(h: EngineHarness): Promise<StepCost[]> {
  const out: StepCost[] = [];
  for (const step of MAPPING_STEPS) {
    const config = sandboxConfig(h.sandboxes.info, { mappings: step.mappings });
    const report = await runDynamicsBackfill({ ...h.ctx, config }, { entities: ['CustomersV3'] });
    if (report.stopped) throw new Error(`the backfill stopped: ${report.stopped}`);
    const sum = (k: 'read' | 'upserted' | 'skipped') => report.runs.reduce((n, r) => n + r[k], 0);
    const last = report.runs.at(-1)?.apiCalls ?? { dynamics: 0, salesforce: 0 };
    out.push({
      step: step.name,
      read: sum('read'),
      upserted: sum('upserted'),
      skipped: sum('skipped'),
      dynamicsCalls: last.dynamics,
      salesforceCalls: last.salesforce,
    });
  }
  return out;
}

if (import.meta.main) {
  const arg = (name: string, fallback: string) =>
    process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
  const customers = Number(arg('customers', '10000'));
  const latencyMs = Number(arg('latency', '0'));
  trustCaFile((await ensureSandboxTls()).caFile);
  const h = await startEngineHarness({
    sandboxes: {
      dynamics: { customers, products: 10, salesOrders: 0, latencyMs },
      salesforce: { latencyMs, customFields: MAPPING_ORG_FIELDS },
    },
  });
  try {
    const started = performance.now();
    const steps = await measureMappingChange(h);
    const cod = h.sandboxes.dynamics.control
      .listRecords('CustomersV3')
      .filter((c) => c.PaymentTerms === 'COD');
    process.stdout.write(
      `${JSON.stringify({ customers: h.sandboxes.dynamics.control.listRecords('CustomersV3').length, codCustomers: cod.length, latencyMs, steps, seconds: Math.round((performance.now() - started) / 1000) }, null, 2)}\n`,
    );
  } finally {
    await h.close();
  }
}
