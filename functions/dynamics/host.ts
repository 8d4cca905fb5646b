/**
 * Validation and normalisation of the two hosts a Dynamics connection names: the F&O
 * environment (also the token audience) and the Entra authority host.
 * Each customer has their own environment host; the token's `aud` must equal the environment
 * URL exactly (lowercase, no trailing slash):
 * https://learn.microsoft.com/en-us/dynamics365/fin-ops-core/dev-itpro/data-entities/services-home-page#authentication
 */
import { isIP } from 'node:net';
import { ConfigError } from '#base/errors.ts';

/**
 * The host forms of Microsoft-operated F&O environments, `<env>` being one or more DNS labels:
 * - `<env>.operations.dynamics.com` and `<env>.sandbox.operations.dynamics.com`: production and
 *   sandbox tiers (Microsoft Learn: services-home-page, "Environment URL").
 * - `<env>.operations.<region>.dynamics.com` and its `.sandbox.` form: environments deployed in a
 *   regional geography, e.g. `.operations.eu.dynamics.com`. Regions other than `eu` are
 *   UNCONFIRMED: any two-to-four-letter region label is accepted (a wrong guess only means the
 *   name does not resolve).
 * - `<env>.cloudax.dynamics.com`, `<env>.axcloud.dynamics.com`: cloud-hosted development
 *   environments (Microsoft Learn's dual-write troubleshooting names `XXXaos.cloudax.dynamics.com`).
 * - `<env>.operations.dynamics.us` and its `.sandbox.` form: US government cloud (GCC High/DoD).
 *   UNCONFIRMED (seen in public tooling, not in Microsoft's documentation); its token authority
 *   is Entra's US government host (see {@link authorityHostFor}).
 */
const HOST_FORMS: readonly { readonly pattern: RegExp; readonly government: boolean }[] = [
  { pattern: /^(?<env>.+)\.operations\.dynamics\.com$/, government: false },
  { pattern: /^(?<env>.+)\.operations\.[a-z]{2,4}\.dynamics\.com$/, government: false },
  { pattern: /^(?<env>.+)\.(?:cloudax|axcloud)\.dynamics\.com$/, government: false },
  { pattern: /^(?<env>.+)\.operations\.dynamics\.us$/, government: true },
];

/** The accepted forms, as the error message lists them. */
const FORMS_TEXT =
  '<env>.operations.dynamics.com, <env>.sandbox.operations.dynamics.com, ' +
  '<env>.operations.<region>.dynamics.com (e.g. .operations.eu.dynamics.com) and its .sandbox. form, ' +
  '<env>.cloudax.dynamics.com, <env>.axcloud.dynamics.com, <env>.operations.dynamics.us (US government)';

/** Entra's authority host for the US government clouds. */
export const US_GOVERNMENT_AUTHORITY_HOST = 'https://login.microsoftonline.us';

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]']);
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** Microsoft Entra's public-cloud authority host. */
export const DEFAULT_AUTHORITY_HOST = 'https://login.microsoftonline.com';

const ENVIRONMENT_EXPECTED =
  'expected an https F&O environment such as https://contoso.operations.dynamics.com ' +
  `(accepted forms: ${FORMS_TEXT}) ` +
  'or a loopback stand-in with a port such as https://127.0.0.1:8443';

const AUTHORITY_EXPECTED =
  'expected an https authority host without a path, such as https://login.microsoftonline.com';

/** Whether a URL hostname is a loopback address (127.0.0.0/8, ::1, localhost). */
export function isLoopbackHost(hostname: string): boolean {
  if (LOOPBACK_NAMES.has(hostname)) return true;
  return isIP(hostname) === 4 && hostname.startsWith('127.');
}

/**
 * Parses `input` as a bare https origin: accepts `host`, `https://host` and `https://host/`,
 * rejects other schemes, credentials, paths, queries and fragments. Returns the lowercase
 * origin without a trailing slash.
 */
function parseOrigin(input: string, key: string, expected: string): URL {
  const text = typeof input === 'string' ? input.trim() : '';
  if (text === '') throw new ConfigError(key, `is empty; ${expected}`);
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `https://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new ConfigError(key, `'${text}' is not a URL; ${expected}`);
  }
  if (url.protocol !== 'https:')
    throw new ConfigError(key, `must use https, not ${url.protocol}; ${expected}`);
  if (url.username || url.password) throw new ConfigError(key, `must not carry credentials; ${expected}`);
  if (url.pathname !== '/' || /^[^?#]*:\/\/[^/]+\/./.test(withScheme)) {
    throw new ConfigError(key, `must not have a path ('${url.pathname}'); ${expected}`);
  }
  if (url.search || withScheme.includes('?'))
    throw new ConfigError(key, `must not have a query string; ${expected}`);
  if (url.hash || withScheme.includes('#'))
    throw new ConfigError(key, `must not have a fragment; ${expected}`);
  return url;
}

function isDnsName(hostname: string): boolean {
  const labels = hostname.split('.');
  return labels.length >= 2 && labels.every((l) => LABEL.test(l));
}

/** The host form a hostname matches (its `<env>` part being valid DNS labels), if any. */
function hostForm(host: string): (typeof HOST_FORMS)[number] | undefined {
  if (!isDnsName(host)) return undefined;
  return HOST_FORMS.find((form) => {
    const env = form.pattern.exec(host)?.groups?.env;
    return env?.split('.').every((l) => LABEL.test(l)) === true;
  });
}

/**
 * The Entra authority host for `environment` (a normalised origin): `configured`, except that an
 * environment in the US government cloud left on the public default gets Entra's US government
 * host, since its tokens come from there. The token scope (`{environment}/.default`) and its
 * audience follow the environment host whatever its form.
 * https://learn.microsoft.com/en-us/entra/identity-platform/authentication-national-cloud
 */
export function authorityHostFor(environment: string, configured: string = DEFAULT_AUTHORITY_HOST): string {
  const host = URL.canParse(environment) ? new URL(environment).hostname : '';
  const government = hostForm(host)?.government === true;
  const isDefault = configured.trim().replace(/\/+$/, '').toLowerCase() === DEFAULT_AUTHORITY_HOST;
  return government && isDefault ? US_GOVERNMENT_AUTHORITY_HOST : configured;
}

/**
 * Normalises an F&O environment to its origin, e.g. `contoso.operations.dynamics.com/` →
 * `https://contoso.operations.dynamics.com`. Throws ConfigError naming `key` and what was expected.
 */
export function normaliseEnvironmentUrl(input: string, key = 'dynamics.environment'): string {
  const url = parseOrigin(input, key, ENVIRONMENT_EXPECTED);
  const host = url.hostname;
  if (isLoopbackHost(host)) {
    if (!url.port)
      throw new ConfigError(key, `a loopback stand-in needs an explicit port; ${ENVIRONMENT_EXPECTED}`);
    return url.origin;
  }
  if (!hostForm(host)) {
    throw new ConfigError(key, `'${host}' is not a Dynamics 365 F&O host; ${ENVIRONMENT_EXPECTED}`);
  }
  if (url.port && url.port !== '443')
    throw new ConfigError(key, `unexpected port ${url.port}; ${ENVIRONMENT_EXPECTED}`);
  return url.origin;
}

/**
 * Normalises the Entra authority host (default {@link DEFAULT_AUTHORITY_HOST}) to its https
 * origin. Any DNS name or loopback address is accepted (sovereign clouds, local stand-ins).
 */
export function normaliseAuthorityHost(
  input: string = DEFAULT_AUTHORITY_HOST,
  key = 'dynamics.authorityHost',
): string {
  const url = parseOrigin(input, key, AUTHORITY_EXPECTED);
  if (!isLoopbackHost(url.hostname) && !isDnsName(url.hostname)) {
    throw new ConfigError(key, `'${url.hostname}' is not a host name; ${AUTHORITY_EXPECTED}`);
  }
  return url.origin;
}
