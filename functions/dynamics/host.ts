/**
 * Validation and normalisation of the two hosts a Dynamics connection names: the F&O
 * environment (also the token audience) and the Entra authority host.
 * Each customer has their own environment host; the token's `aud` must equal the environment
 * URL exactly (lowercase, no trailing slash):
 * https://learn.microsoft.com/en-us/dynamics365/fin-ops-core/dev-itpro/data-entities/services-home-page#authentication
 */
import { isIP } from 'node:net';
import { ConfigError } from '#core/errors.ts';

/** Microsoft-operated F&O host suffixes (cloud-hosted, sandbox and production tiers). */
const DYNAMICS_SUFFIXES = [
  '.operations.dynamics.com',
  '.sandbox.operations.dynamics.com',
  '.cloudax.dynamics.com',
  '.axcloud.dynamics.com',
] as const;

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]']);
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** Microsoft Entra's public-cloud authority host. */
export const DEFAULT_AUTHORITY_HOST = 'https://login.microsoftonline.com';

const ENVIRONMENT_EXPECTED =
  'expected an https F&O environment such as https://contoso.operations.dynamics.com ' +
  '(also *.sandbox.operations.dynamics.com, *.cloudax.dynamics.com, *.axcloud.dynamics.com) ' +
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
  const suffix = DYNAMICS_SUFFIXES.find((s) => host.endsWith(s));
  const prefix = suffix ? host.slice(0, -suffix.length) : '';
  if (!suffix || prefix === '' || !prefix.split('.').every((l) => LABEL.test(l)) || !isDnsName(host)) {
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

/** Whether an authority origin is one of Microsoft's public Entra hosts, whose metadata MSAL knows. */
export function isMicrosoftAuthority(origin: string): boolean {
  const host = new URL(origin).hostname;
  return (
    host === 'login.microsoftonline.com' ||
    host === 'login.microsoft.com' ||
    host === 'login.windows.net' ||
    host === 'login.microsoftonline.us' ||
    host === 'login.partner.microsoftonline.cn' ||
    host === 'login.chinacloudapi.cn'
  );
}
