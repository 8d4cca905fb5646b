/**
 * Validates the per-customer My Domain setting. The client-credentials flow only works against
 * the org's My Domain login host, never login.salesforce.com or test.salesforce.com:
 * https://help.salesforce.com/s/articleView?id=xcloud.remoteaccess_oauth_client_credentials_flow.htm&type=5
 * My Domain hostname formats (production, sandbox, Developer Edition, scratch, …):
 * https://help.salesforce.com/s/articleView?id=xcloud.domain_name_app_url_changes.htm&type=5
 */
import { ConfigError } from '#base/errors.ts';

/**
 * Host suffixes of Salesforce My Domain login hosts: commercial (`acme.my.salesforce.com`,
 * `acme--uat.sandbox.my.salesforce.com`, `acme-dev-ed.develop.my.salesforce.com`, scratch, demo,
 * patch, trailblaze partitions), Government Cloud Plus (`.my.salesforce.mil`) and Alibaba Cloud
 * in China (`.my.sfcrmproducts.cn`).
 */
export const MY_DOMAIN_SUFFIXES: readonly string[] = Object.freeze([
  '.my.salesforce.com',
  '.my.salesforce.mil',
  '.my.sfcrmproducts.cn',
]);

const GENERIC_LOGIN_HOSTS = new Set(['login.salesforce.com', 'test.salesforce.com']);
const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);
const LABEL = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;

export interface MyDomainOptions {
  /** Config key named in errors. Default `salesforce.myDomainUrl`. */
  readonly key?: string;
  /** Also accept a custom domain (e.g. `login.acme.com`) the customer serves My Domain on. Default false. */
  readonly allowCustomDomain?: boolean;
}

function isLoopback(hostname: string): boolean {
  return LOOPBACK.has(hostname) || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

/**
 * Normalises a My Domain setting (`https://acme.my.salesforce.com`, `acme.my.salesforce.com`,
 * or a loopback stand-in such as `https://localhost:8443`) to its origin. Throws ConfigError for
 * http URLs, generic login hosts, paths, query strings, credentials in the URL and unknown hosts.
 */
export function normalizeMyDomainUrl(input: string, options: MyDomainOptions = {}): string {
  const key = options.key ?? 'salesforce.myDomainUrl';
  const text = input.trim();
  if (text === '')
    throw new ConfigError(
      key,
      'is empty; set it to the org My Domain URL, e.g. https://acme.my.salesforce.com',
    );
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `https://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new ConfigError(key, 'is not a URL; expected e.g. https://acme.my.salesforce.com');
  }
  if (url.protocol !== 'https:')
    throw new ConfigError(key, `must use https, not ${url.protocol.slice(0, -1)}`);
  if (url.username || url.password) throw new ConfigError(key, 'must not carry credentials in the URL');
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) {
    throw new ConfigError(key, 'must be the bare My Domain origin, without a path, query or fragment');
  }
  const host = url.hostname.toLowerCase();
  if (GENERIC_LOGIN_HOSTS.has(host)) {
    throw new ConfigError(
      key,
      `${host} does not accept the client-credentials flow; use the org's My Domain URL ` +
        '(Setup → My Domain), e.g. https://acme.my.salesforce.com',
    );
  }
  if (isLoopback(host)) return url.origin;
  if (url.port) throw new ConfigError(key, 'must not name a port (only loopback stand-ins do)');
  const suffix = MY_DOMAIN_SUFFIXES.find((s) => host.endsWith(s));
  const labels = host.split('.');
  if (!labels.every((l) => LABEL.test(l))) throw new ConfigError(key, `${host} is not a valid host name`);
  if (suffix) {
    if (host.length === suffix.length) throw new ConfigError(key, `${host} lacks the My Domain name`);
    return url.origin;
  }
  if (options.allowCustomDomain && labels.length >= 2) return url.origin;
  throw new ConfigError(
    key,
    `${host} is not a My Domain host (expected *${MY_DOMAIN_SUFFIXES.join(', *')}); ` +
      'set allowCustomDomain for a custom My Domain',
  );
}
