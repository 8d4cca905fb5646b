/** Counts API calls per host and per operation, so tests and benchmarks can assert call budgets. */
import type { CallCountSnapshot } from '#base/call-counts.ts';

export type { CallCountSnapshot };

export interface CallCounter {
  record(host: string, operation: string, isRetry: boolean): void;
  snapshot(): CallCountSnapshot;
  reset(): void;
}

export function createCallCounter(): CallCounter {
  let byHost: Record<string, number> = {};
  let byOperation: Record<string, number> = {};
  let total = 0;
  let retries = 0;
  return {
    record(host, operation, isRetry) {
      total += 1;
      if (isRetry) retries += 1;
      byHost[host] = (byHost[host] ?? 0) + 1;
      byOperation[operation] = (byOperation[operation] ?? 0) + 1;
    },
    snapshot: () => ({ total, retries, byHost: { ...byHost }, byOperation: { ...byOperation } }),
    reset() {
      byHost = {};
      byOperation = {};
      total = 0;
      retries = 0;
    },
  };
}
