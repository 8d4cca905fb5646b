import type { PolicyValidationPluginReport } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { synthesize } from './support.ts';

/** Every unacknowledged finding (errors and warnings) of both packs, as `severity rule at path`. */
function findings(acknowledge: boolean): string[] {
  const { app } = synthesize({ acknowledge });
  const reports: PolicyValidationPluginReport[] = [
    new AwsSolutionsChecks(app).validateScope(app),
    new ServerlessChecks(app).validateScope(app),
  ];
  return reports.flatMap((report) =>
    report.violations.flatMap((v) =>
      v.violatingResources.map((r) => `${v.severity ?? 'error'} ${v.ruleName} at ${r.constructPath}`),
    ),
  );
}

describe('cdk-nag', () => {
  it('finds nothing unacknowledged in the AwsSolutions and Serverless packs', () => {
    expect(findings(true)).toEqual([]);
  });

  it('reports findings when the acknowledgements are left out (the check above can fail)', () => {
    const raw = findings(false);
    expect(raw).toEqual(
      expect.arrayContaining([expect.stringMatching(/AwsSolutions-SMG4 at Test\/Secrets\/Dynamics/)]),
    );
    expect(raw.some((f) => f.startsWith('warning '))).toBe(true);
  });
});
