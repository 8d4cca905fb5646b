import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openLocalState } from '#cli/local-engine.ts';
import { main } from '#cli/main.ts';
import { captureIo } from '#test/support/cli-io.ts';

describe('ml-connector status', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mlc-status-'));
  const file = join(dir, 'state.db');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('lists the records still parked with their reasons and what they wait for', async () => {
    const local = openLocalState(file);
    const base = { flow: 'won-opportunities', trigger: 'cdc', attempt: 1 } as const;
    const waiting = await local.state.appendAudit({
      ...base,
      recordKey: 'salesforce:Opportunity:006A',
      outcome: 'parked',
      error: 'item(s) PNEW01 are not released products in legal entity usmf; release them there, then replay',
      waitsFor: ['dynamics:ReleasedProductsV2:usmf:PNEW01'],
    });
    await local.state.appendAudit({
      ...base,
      recordKey: 'salesforce:Opportunity:006B',
      outcome: 'parked',
      error: 'x',
    });
    await local.state.appendAudit({
      ...base,
      recordKey: 'salesforce:Opportunity:006B',
      outcome: 'succeeded',
    });
    local.close();

    const text = captureIo();
    expect(await main(['status', '--state', file], text.io)).toBe(0);
    expect(text.out()).toContain(
      `Parked (1):\n  ${new Date(waiting.at).toISOString()} salesforce:Opportunity:006A (audit ${waiting.auditId}): item(s) PNEW01 are not released products in legal entity usmf; release them there, then replay; retried when dynamics:ReleasedProductsV2:usmf:PNEW01 arrives\n`,
    );
    expect(text.out()).not.toMatch(/Parked[\s\S]*006B[\s\S]*Latest failures/);

    const json = captureIo();
    expect(await main(['status', '--state', file, '--json'], json.io)).toBe(0);
    const status = JSON.parse(json.out()) as { parked: { recordKey: string; reason: string }[] };
    expect(status.parked.map((p) => p.recordKey)).toEqual(['salesforce:Opportunity:006A']);
  });
});
