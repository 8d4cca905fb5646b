/**
 * The logger port. Adapters (console JSON lines locally, Powertools on Lambda) implement it;
 * everything that logs takes one by injection. Field values pass through {@link redact}.
 */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** A logger that drops everything (the default when none is injected). */
export const silentLogger: Logger = Object.freeze({
  debug() {},
  info() {},
  warn() {},
  error() {},
});

const SECRET_KEY =
  /secret|password|passwd|token|authorization|apikey|api_key|assertion|signature|credential/i;

/** Removes userinfo and the values of secret-looking query parameters from a URL. */
export function redactUrl(url: string | URL): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return String(url).replace(/([?&][^=&]*(?:secret|token|code|sig|key|password)[^=&]*=)[^&]*/gi, '$1***');
  }
  parsed.username = '';
  parsed.password = '';
  for (const key of [...parsed.searchParams.keys()]) {
    if (SECRET_KEY.test(key) || /^(code|sig|key)$/i.test(key)) parsed.searchParams.set(key, '***');
  }
  return parsed.toString();
}

/** Deep-copies `value`, replacing the values of secret-looking keys with `***`. */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEY.test(k) ? '***' : redact(v, depth + 1);
  return out;
}
