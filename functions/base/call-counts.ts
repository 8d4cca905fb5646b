/** API calls counted per host and per operation (tests, benchmarks and metrics read them). */
export interface CallCountSnapshot {
  readonly total: number;
  readonly byHost: Readonly<Record<string, number>>;
  readonly byOperation: Readonly<Record<string, number>>;
  /** Attempts that were retries (included in the totals above). */
  readonly retries: number;
}
