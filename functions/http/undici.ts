/**
 * The two parts of undici the HTTP layer uses, Agent (the keep-alive pool) and the request API,
 * loaded from their own modules. The package root also loads fetch, WebSocket, EventSource, the
 * cache stores, the interceptors and the mocks: about 420 KiB of every Lambda bundle that nothing
 * here calls (docs/BENCHMARKS.md). Types come from the package's own declarations; the modules are
 * the very files the root re-exports, so a MockAgent from `undici` works as the dispatcher.
 * test/infra/bundles.test.ts loads every built bundle, so a moved module fails there, not in Lambda.
 */
import type { Dispatcher } from 'undici';
import request from 'undici/lib/api/api-request.js';
import Agent from 'undici/lib/dispatcher/agent.js';

export type { Dispatcher };
export { Agent };

/** undici's `request(url, { dispatcher, … })`, as the package root builds it for an absolute URL. */
export function undiciRequest(
  url: URL,
  options: Omit<Dispatcher.RequestOptions, 'origin' | 'path'> & { readonly dispatcher: Dispatcher },
): Promise<Dispatcher.ResponseData> {
  const { dispatcher, ...rest } = options;
  return request.call(dispatcher, { ...rest, origin: url.origin, path: `${url.pathname}${url.search}` });
}
