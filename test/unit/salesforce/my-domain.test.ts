import { describe, expect, it } from 'vitest';
import { ConfigError } from '#base/errors.ts';
import { normalizeMyDomainUrl } from '#salesforce/my-domain.ts';

describe('normalizeMyDomainUrl', () => {
  it.each([
    ['https://acme.my.salesforce.com', 'https://acme.my.salesforce.com'],
    ['acme.my.salesforce.com', 'https://acme.my.salesforce.com'],
    ['https://ACME.my.salesforce.com/', 'https://acme.my.salesforce.com'],
    ['https://acme--uat.sandbox.my.salesforce.com', 'https://acme--uat.sandbox.my.salesforce.com'],
    ['acme-dev-ed.develop.my.salesforce.com', 'https://acme-dev-ed.develop.my.salesforce.com'],
    ['https://agency.my.salesforce.mil', 'https://agency.my.salesforce.mil'],
    ['https://localhost:8443', 'https://localhost:8443'],
    ['https://127.0.0.1:9000', 'https://127.0.0.1:9000'],
  ])('accepts %s as %s', (input, origin) => {
    expect(normalizeMyDomainUrl(input)).toBe(origin);
  });

  it.each([
    ['https://login.salesforce.com', /My Domain/],
    ['test.salesforce.com', /client-credentials/],
    ['http://acme.my.salesforce.com', /https/],
    ['http://localhost:8443', /https/],
    ['https://acme.my.salesforce.com/services/oauth2/token', /path/],
    ['https://user:pw@acme.my.salesforce.com', /credentials/],
    ['https://acme.my.salesforce.com?x=1', /query/],
    ['https://acme.example.com', /not a My Domain host/],
    ['https://acme.my.salesforce.com:8443', /port/],
    ['', /empty/],
  ])('rejects %s', (input, message) => {
    const error = (() => {
      try {
        normalizeMyDomainUrl(input);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(message);
  });

  it('accepts a custom domain only when allowed', () => {
    expect(() => normalizeMyDomainUrl('https://login.acme.com')).toThrow(ConfigError);
    expect(normalizeMyDomainUrl('https://login.acme.com', { allowCustomDomain: true })).toBe(
      'https://login.acme.com',
    );
  });
});
