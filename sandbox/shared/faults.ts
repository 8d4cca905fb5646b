/**
 * Seeded, configurable fault injection shared by both sandboxes. A fault plan is a list of rules;
 * each request asks `decide()` which (if any) fault applies to it. Rules match an operation name
 * (glob with `*`), fire with a probability or for the next `count` matching requests, and are
 * reproducible for a given seed.
 */
import { type Random, seededRandom } from './random.ts';

export type FaultKind =
  /** 429 with Retry-After (`retryAfterSeconds`, or an HTTP-date when `retryAfterDate`). */
  | 'throttle'
  /** A 5xx status (`status`, default 503). */
  | 'error'
  /** The connection is destroyed without a response. */
  | 'reset'
  /** Added latency (`latencyMs`) before the request is handled normally. */
  | 'latency'
  /** The bearer token presented is treated as expired (401). */
  | 'token-expiry'
  /** A streaming RPC is ended with a transient error (gRPC INTERNAL). */
  | 'stream-drop';

export interface FaultRule {
  readonly kind: FaultKind;
  /** Operation glob, e.g. `odata.*`, `rest.query`, `*` (default). */
  readonly match?: string;
  /** Probability in [0, 1] that a matching request gets the fault. Default 1. */
  readonly probability?: number;
  /** Fire for at most this many matching requests, then stop. Default unlimited. */
  readonly count?: number;
  readonly status?: number;
  readonly retryAfterSeconds?: number;
  /** Send Retry-After as an HTTP-date instead of seconds. */
  readonly retryAfterDate?: boolean;
  readonly latencyMs?: number;
}

export interface FaultPlan {
  readonly seed?: number;
  readonly rules: readonly FaultRule[];
}

/** The kinds an HTTP server can act on. */
export const HTTP_FAULT_KINDS: readonly FaultKind[] = [
  'throttle',
  'error',
  'reset',
  'latency',
  'token-expiry',
];
/** The kinds a gRPC streaming server can act on. */
export const STREAM_FAULT_KINDS: readonly FaultKind[] = ['stream-drop', 'token-expiry'];

export interface FaultDecision {
  readonly rule: FaultRule;
}

export interface FaultInjector {
  /**
   * The faults (at most one of each kind) that apply to this request, in rule order. Only rules of
   * `kinds` (default: all) are considered or counted down, so a server never uses up a rule it
   * cannot act on (an HTTP server and `stream-drop`, a gRPC server and `throttle`).
   */
  decide(operation: string, kinds?: readonly FaultKind[]): FaultDecision[];
  /** Replaces the plan (and reseeds). */
  setPlan(plan: FaultPlan): void;
  readonly plan: FaultPlan;
  /** How many times each kind has fired since the plan was set. */
  fired(): Readonly<Record<string, number>>;
}

function globToRegExp(glob: string): RegExp {
  const escaped = glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${escaped}$`);
}

export function validateFaultPlan(input: unknown): FaultPlan {
  const kinds: readonly string[] = ['throttle', 'error', 'reset', 'latency', 'token-expiry', 'stream-drop'];
  if (typeof input !== 'object' || input === null) throw new TypeError('fault plan must be an object');
  const { seed, rules } = input as { seed?: unknown; rules?: unknown };
  if (seed !== undefined && !Number.isInteger(seed))
    throw new TypeError('fault plan seed must be an integer');
  if (!Array.isArray(rules)) throw new TypeError('fault plan rules must be an array');
  for (const [i, rule] of rules.entries()) {
    if (typeof rule !== 'object' || rule === null) throw new TypeError(`rules[${i}] must be an object`);
    const r = rule as Record<string, unknown>;
    if (typeof r.kind !== 'string' || !kinds.includes(r.kind)) {
      throw new TypeError(`rules[${i}].kind must be one of ${kinds.join(', ')}`);
    }
    if (
      r.probability !== undefined &&
      !(typeof r.probability === 'number' && r.probability >= 0 && r.probability <= 1)
    ) {
      throw new TypeError(`rules[${i}].probability must be a number in [0, 1]`);
    }
    for (const key of ['count', 'status', 'retryAfterSeconds', 'latencyMs'] as const) {
      if (r[key] !== undefined && !(typeof r[key] === 'number' && r[key] >= 0)) {
        throw new TypeError(`rules[${i}].${key} must be a non-negative number`);
      }
    }
  }
  return input as FaultPlan;
}

export function createFaultInjector(initial: FaultPlan = { rules: [] }): FaultInjector {
  let plan = initial;
  let random: Random = seededRandom(initial.seed ?? 1);
  let compiled: { rule: FaultRule; re: RegExp; remaining: number }[] = [];
  let counts: Record<string, number> = {};
  const compile = (p: FaultPlan) => {
    plan = p;
    random = seededRandom(p.seed ?? 1);
    counts = {};
    compiled = p.rules.map((rule) => ({
      rule,
      re: globToRegExp(rule.match ?? '*'),
      remaining: rule.count ?? Number.POSITIVE_INFINITY,
    }));
  };
  compile(initial);
  return {
    decide(operation, kinds) {
      const out: FaultDecision[] = [];
      const seen = new Set<FaultKind>();
      for (const entry of compiled) {
        if (entry.remaining <= 0 || seen.has(entry.rule.kind) || !entry.re.test(operation)) continue;
        if (kinds && !kinds.includes(entry.rule.kind)) continue;
        if (random.next() >= (entry.rule.probability ?? 1)) continue;
        entry.remaining -= 1;
        seen.add(entry.rule.kind);
        counts[entry.rule.kind] = (counts[entry.rule.kind] ?? 0) + 1;
        out.push({ rule: entry.rule });
      }
      return out;
    },
    setPlan(p) {
      compile(validateFaultPlan(p));
    },
    get plan() {
      return plan;
    },
    fired: () => ({ ...counts }),
  };
}
