/**
 * The part of an EngineContext the engine's queue and state code reaches, for unit tests: an
 * in-memory SQLite work queue and state store on the test's clock and a silent logger. Nothing
 * else is set; `extra` adds what a test's code reads (its configuration, for one).
 */
import { createSqliteStateStore } from '#adapters/local/sqlite-state-store.ts';
import { createSqliteWorkQueue } from '#adapters/local/sqlite-work-queue.ts';
import { silentLogger } from '#base/logger.ts';
import type { EngineContext } from '#core/engine/context.ts';

/** An in-memory queue-and-state EngineContext whose time is `now`, plus `extra`. */
export function inMemoryEngineContext(now: () => number, extra: Partial<EngineContext> = {}): EngineContext {
  return {
    ...extra,
    queue: createSqliteWorkQueue({ database: ':memory:', now }),
    state: createSqliteStateStore({ database: ':memory:', now }),
    logger: silentLogger,
    now,
  } as unknown as EngineContext;
}
