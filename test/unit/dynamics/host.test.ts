import { describe, expect, it } from 'vitest';
import { ConfigError } from '#base/errors.ts';
import { authorityHostFor, normaliseAuthorityHost, normaliseEnvironmentUrl } from '#dynamics/host.ts';

describe('normaliseEnvironmentUrl', () => {
  it.each([
    ['contoso.operations.dynamics.com', 'https://contoso.operations.dynamics.com'],
    ['https://contoso.operations.dynamics.com/', 'https://contoso.operations.dynamics.com'],
    ['  HTTPS://Contoso.Operations.Dynamics.com  ', 'https://contoso.operations.dynamics.com'],
    [
      'https://contoso-uat.sandbox.operations.dynamics.com',
      'https://contoso-uat.sandbox.operations.dynamics.com',
    ],
    ['usnconeboxax1aos.cloudax.dynamics.com', 'https://usnconeboxax1aos.cloudax.dynamics.com'],
    [
      'https://contosodev1234abcdevaos.axcloud.dynamics.com:443/',
      'https://contosodev1234abcdevaos.axcloud.dynamics.com',
    ],
    ['https://contoso.operations.eu.dynamics.com', 'https://contoso.operations.eu.dynamics.com'],
    [
      'contoso-uat.sandbox.operations.eu.dynamics.com',
      'https://contoso-uat.sandbox.operations.eu.dynamics.com',
    ],
    ['https://contoso.operations.uk.dynamics.com/', 'https://contoso.operations.uk.dynamics.com'],
    ['https://contoso.operations.dynamics.us', 'https://contoso.operations.dynamics.us'],
    ['contoso-test.sandbox.operations.dynamics.us', 'https://contoso-test.sandbox.operations.dynamics.us'],
    ['https://127.0.0.1:8443', 'https://127.0.0.1:8443'],
    ['https://localhost:9000/', 'https://localhost:9000'],
    ['https://[::1]:8443', 'https://[::1]:8443'],
  ])('accepts %s as %s', (input, expected) => {
    expect(normaliseEnvironmentUrl(input)).toBe(expected);
  });

  it.each([
    ['', /empty/],
    ['http://contoso.operations.dynamics.com', /https/],
    ['ftp://contoso.operations.dynamics.com', /https/],
    ['https://contoso.example.com', /not a Dynamics 365 F&O host/],
    ['https://operations.dynamics.com', /not a Dynamics 365 F&O host/],
    ['https://contoso.operations.dynamics.com.evil.com', /not a Dynamics 365 F&O host/],
    ['https://contoso.operations.dynamics.com/data', /path/],
    ['https://contoso.operations.dynamics.com/data/', /path/],
    ['https://contoso.operations.dynamics.com?cross-company=true', /query/],
    ['https://contoso.operations.dynamics.com#x', /fragment/],
    ['https://user:pw@contoso.operations.dynamics.com', /credentials/],
    ['https://contoso.operations.dynamics.com:8443', /port/],
    ['https://127.0.0.1', /port/],
    ['https://10.0.0.1:8443', /not a Dynamics/],
    ['https://operations.eu.dynamics.com', /not a Dynamics 365 F&O host/],
    ['https://contoso.operations.europe1.dynamics.com', /not a Dynamics 365 F&O host/],
    ['https://contoso.crm4.dynamics.com', /not a Dynamics 365 F&O host/],
    ['https://contoso.operations.dynamics.cn', /not a Dynamics 365 F&O host/],
    ['https://contoso.dynamics.us', /not a Dynamics 365 F&O host/],
    ['https://con_toso.operations.dynamics.com', /not a Dynamics 365 F&O host/],
    ['not a url at all', /./],
  ])('rejects %j with a ConfigError that says what was expected', (input, reason) => {
    const error = (() => {
      try {
        normaliseEnvironmentUrl(input);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toMatch(reason);
    expect((error as ConfigError).message).toMatch(/expected an https F&O environment/);
    expect((error as ConfigError).key).toBe('dynamics.environment');
  });
});

describe('normaliseAuthorityHost', () => {
  it('defaults to the Microsoft public cloud authority', () => {
    expect(normaliseAuthorityHost()).toBe('https://login.microsoftonline.com');
  });

  it('normalises case and a trailing slash and keeps a port', () => {
    expect(normaliseAuthorityHost('HTTPS://Login.MicrosoftOnline.US/')).toBe(
      'https://login.microsoftonline.us',
    );
    expect(normaliseAuthorityHost('https://127.0.0.1:9443')).toBe('https://127.0.0.1:9443');
  });

  it.each([
    'http://login.microsoftonline.com',
    'https://login.microsoftonline.com/tenant',
    'https://x:y@login.example.com',
    '',
  ])('rejects %j', (input) => {
    expect(() => normaliseAuthorityHost(input)).toThrow(ConfigError);
  });
});

describe('the accepted F&O host forms', () => {
  it('names every accepted form when it refuses a host', () => {
    expect(() => normaliseEnvironmentUrl('https://contoso.example.com')).toThrow(
      /operations\.dynamics\.com.*sandbox\.operations\.dynamics\.com.*operations\.<region>\.dynamics\.com.*cloudax\.dynamics\.com.*axcloud\.dynamics\.com.*operations\.dynamics\.us/,
    );
  });
});

describe('authorityHostFor', () => {
  it('keeps the public authority for commercial and regional hosts', () => {
    for (const env of [
      'https://contoso.operations.dynamics.com',
      'https://contoso.sandbox.operations.eu.dynamics.com',
      'https://contosoaos.cloudax.dynamics.com',
    ]) {
      expect(authorityHostFor(env)).toBe('https://login.microsoftonline.com');
    }
  });

  it('takes the US government authority for a US government host left on the default', () => {
    expect(authorityHostFor('https://contoso.operations.dynamics.us')).toBe(
      'https://login.microsoftonline.us',
    );
    expect(
      authorityHostFor('https://contoso.operations.dynamics.us', 'https://login.microsoftonline.com/'),
    ).toBe('https://login.microsoftonline.us');
  });

  it('keeps an authority the configuration names explicitly', () => {
    expect(authorityHostFor('https://contoso.operations.dynamics.us', 'https://127.0.0.1:9443')).toBe(
      'https://127.0.0.1:9443',
    );
  });
});
