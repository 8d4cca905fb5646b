/**
 * The org's daily API request allocation, counted on a rolling 24-hour window of the sandbox
 * clock, and the per-operation call counters.
 * https://developer.salesforce.com/docs/atlas.en-us.salesforce_app_limits_cheatsheet.meta/salesforce_app_limits_cheatsheet/salesforce_app_limits_platform_api.htm
 */
import type { SandboxClock } from '#sandbox/shared/clock.ts';

const DAY_MS = 24 * 3600_000;
const BUCKET_MS = 60_000;

/** Rolling-window API usage in one-minute buckets. */
export class ApiUsage {
  max: number;
  private readonly clock: SandboxClock;
  private buckets: { start: number; count: number }[] = [];

  constructor(max: number, clock: SandboxClock) {
    this.max = max;
    this.clock = clock;
  }

  private prune(): void {
    const since = this.clock.now() - DAY_MS;
    while (this.buckets.length > 0 && (this.buckets[0] as { start: number }).start + BUCKET_MS <= since) {
      this.buckets.shift();
    }
  }

  /** Requests counted in the last 24 h. */
  get used(): number {
    this.prune();
    let n = 0;
    for (const b of this.buckets) n += b.count;
    return n;
  }

  get remaining(): number {
    return Math.max(0, this.max - this.used);
  }

  /** Counts one request; false (and not counted) when the allocation is exhausted. */
  take(): boolean {
    if (this.used >= this.max) return false;
    const now = this.clock.now();
    const start = now - (now % BUCKET_MS);
    const last = this.buckets.at(-1);
    if (last && last.start === start) last.count++;
    else this.buckets.push({ start, count: 1 });
    return true;
  }

  /** Sets the usage in the window to `used` (as if spent just now). */
  setUsed(used: number): void {
    const now = this.clock.now();
    this.buckets = used > 0 ? [{ start: now - (now % BUCKET_MS), count: used }] : [];
  }

  /** The `Sforce-Limit-Info` header value. https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/headers_api_usage.htm */
  header(): string {
    return `api-usage=${this.used}/${this.max}`;
  }
}

/** Per-operation call counters (`rest.query`, `token`, …), readable and resettable. */
export class CallCounters {
  private counts: Record<string, number> = {};
  increment(operation: string): void {
    this.counts[operation] = (this.counts[operation] ?? 0) + 1;
  }
  read(): Readonly<Record<string, number>> {
    return { ...this.counts };
  }
  reset(): void {
    this.counts = {};
  }
}
