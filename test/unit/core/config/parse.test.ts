import { describe, expect, it } from 'vitest';
import { parseConfig } from '#core/config/parse.ts';
import { ConfigValidationError } from '#core/config/validate.ts';

const valid = `
# Dynamics 365 F&O
dynamics:
  environment: contoso.operations.dynamics.com
  tenantId: contoso.onmicrosoft.com
salesforce:
  myDomain: https://acme.my.salesforce.com
legalEntities: [usmf, demf]
`;

describe('parseConfig', () => {
  it('reads commented YAML into a validated configuration', () => {
    const config = parseConfig(valid);
    expect(config.legalEntities).toEqual(['usmf', 'demf']);
    expect(config.salesforce.apiVersion).toBe('63.0');
  });

  it('names the line of a syntax error', () => {
    let error: unknown;
    try {
      parseConfig('dynamics:\n  environment: [unclosed\n', 'ml-connector.yaml');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigValidationError);
    expect((error as ConfigValidationError).problems[0]?.key).toMatch(/^ml-connector\.yaml:\d+$/);
  });

  it('refuses a secret pasted into the file and says where credentials go', () => {
    expect(() =>
      parseConfig(`${valid}\n  clientSecret: hunter2\n`.replace('legalEntities', 'x: 1\nlegalEntities')),
    ).toThrow(ConfigValidationError);
    const text = valid.replace(
      'tenantId: contoso.onmicrosoft.com',
      'tenantId: contoso.onmicrosoft.com\n  clientSecret: hunter2',
    );
    try {
      parseConfig(text);
      expect.unreachable();
    } catch (e) {
      const problems = (e as ConfigValidationError).problems;
      expect(problems).toEqual([
        { key: 'dynamics.clientSecret', message: expect.stringContaining('credentials set') },
      ]);
      expect((e as Error).message).not.toContain('hunter2');
    }
  });

  it('refuses duplicate keys', () => {
    expect(() => parseConfig(`${valid}legalEntities: [gbsi]\n`)).toThrow(ConfigValidationError);
  });
});
