import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigValidationError } from '#core/config/validate.ts';
import { EXAMPLE_STAGE_CONFIG, loadStageConfig, StageConfigError } from '../../lib/stage-config.ts';
import { synthesize, testConfig } from './support.ts';

const dir = mkdtempSync(join(tmpdir(), 'stage-config-'));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const GOOD = [
  'dynamics: { environment: contoso.operations.dynamics.com, tenantId: contoso.onmicrosoft.com }',
  'salesforce: { myDomain: "https://contoso.my.salesforce.com" }',
  'legalEntities: [usmf]',
  'schedules: { backfillMinutes: 30 }',
].join('\n');

describe('loadStageConfig', () => {
  it('reads and validates the file named by -c config, with the schema defaults applied', () => {
    const stage = loadStageConfig({ stage: 'prod', config: file('prod.yaml', GOOD) });
    expect(stage.stage).toBe('prod');
    expect(stage.config.schedules.backfillMinutes).toBe(30);
    expect(stage.config.salesforce.apiReserve).toBe(5000);
  });

  it('reads config/<stage>.yaml when only the stage is named', () => {
    const cwd = mkdtempSync(join(tmpdir(), 'stage-cwd-'));
    mkdirSync(join(cwd, 'config'));
    writeFileSync(join(cwd, 'config', 'test.yaml'), GOOD);
    expect(loadStageConfig({ stage: 'test', cwd }).source).toBe(join(cwd, 'config', 'test.yaml'));
  });

  it('throws naming the stage, the file and each bad key', () => {
    const bad = file(
      'bad.yaml',
      `${GOOD.replace('backfillMinutes: 30', 'backfillMinutes: 0')}\nbatches: { collectionsSize: 500 }`,
    );
    let error: unknown;
    try {
      loadStageConfig({ stage: 'prod', config: bad });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(StageConfigError);
    expect((error as Error).message).toMatch(/stage "prod" \(.*bad\.yaml\)/);
    expect((error as Error).message).toContain('schedules.backfillMinutes');
    expect((error as Error).message).toContain('batches.collectionsSize');
    expect((error as Error).cause).toBeInstanceOf(ConfigValidationError);
  });

  it('refuses a secret pasted into the stage file, naming its key', () => {
    const leaked = file('leak.yaml', `${GOOD}\nextra: { client_secret: abc }`);
    expect(() => loadStageConfig({ config: leaked })).toThrow(/extra\.client_secret: secrets never go/);
  });

  it('throws naming the missing file', () => {
    expect(() => loadStageConfig({ stage: 'qa', config: join(dir, 'nope.yaml') })).toThrow(
      /no configuration at .*nope\.yaml/,
    );
  });

  it('falls back to the example configuration when neither stage nor file is given', () => {
    expect(loadStageConfig({})).toEqual({ stage: 'dev', config: EXAMPLE_STAGE_CONFIG, source: undefined });
  });

  it('rejects a stage name CloudFormation and tags cannot carry', () => {
    expect(() => loadStageConfig({ stage: 'prod/eu' })).toThrow(StageConfigError);
  });
});

describe('ConnectorStack configuration', () => {
  it('refuses at synth a configuration too large for the Lambda environment, saying what to trim', () => {
    const mappings = Object.fromEntries(
      Array.from({ length: 200 }, (_, i) => [`Field_${i}__c`, `DynamicsField${i}`]),
    );
    expect(() =>
      synthesize({ props: { config: testConfig({ mappings: { customers: mappings } }) } }),
    ).toThrow(/4 KB environment limit: trim mappings/);
  });
});

describe('the CDK app (bin/app.ts)', () => {
  it('stops the synth on a bad stage configuration, naming the key, without a stack trace', () => {
    const bad = file('app-bad.yaml', GOOD.replace('backfillMinutes: 30', 'backfillMinutes: 2000'));
    const result = spawnSync(process.execPath, ['bin/app.ts'], {
      cwd: join(import.meta.dirname, '..', '..'),
      env: {
        ...process.env,
        CDK_CONTEXT_JSON: JSON.stringify({ stage: 'prod', config: bad }),
        CDK_OUTDIR: mkdtempSync(join(tmpdir(), 'cdk-out-')),
      },
      encoding: 'utf8',
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('stage "prod"');
    expect(result.stderr).toContain('schedules.backfillMinutes');
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});
