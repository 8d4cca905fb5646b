/**
 * F&O number sequences for the numbers a create may omit: customer accounts (CustomersV3
 * CustomerAccount) and sales orders (SalesOrderHeadersV2 SalesOrderNumber), one sequence per
 * company, each with a format (constant segments and `#` digits) and F&O's settings Manual,
 * Continuous, "To a lower number" and "To a higher number".
 *
 * - An omitted number is assigned from the sequence (Manual: refused, the field must be filled in).
 * - A caller's number is accepted when the sequence is Manual, or when it matches the format, lies
 *   within Smallest..Largest and the sequence allows the change (to a higher / lower number than
 *   Next); otherwise F&O's validation error. Accepting a caller's number does not move Next.
 * - Non-continuous sequences leave gaps (a number drawn for a failed insert is not given back);
 *   continuous ones do not.
 *
 * The settings and messages follow Microsoft Learn, "Configure number sequences and autonumber
 * columns when using dual-write" (the errors an OData/data-entity create raises):
 * https://learn.microsoft.com/en-us/dynamics365/fin-ops-core/dev-itpro/data-entities/dual-write/dual-write-numseq
 * and "Number sequences overview":
 * https://learn.microsoft.com/en-us/dynamics365/fin-ops-core/fin-ops/organization-administration/number-sequence-overview
 *
 * UNCONFIRMED (the sandbox does the stricter thing): the wording for a number below Next
 * ("doesn't allow change to a lower number", by symmetry with the documented "higher" text); that
 * a caller's number equal to Next is refused like any other change unless a change is allowed;
 * that a Manual sequence accepts any text (its format is not checked); that F&O does not skip a
 * number a caller already took (the insert then fails as a duplicate).
 */
import { seededRandom } from '#sandbox/shared/random.ts';
import { LEGAL_ENTITIES } from './data.ts';

/** The sequences the sandbox keeps, by the field they number. */
export const SEQUENCE_KINDS = ['customerAccounts', 'salesOrders'] as const;
export type SequenceKind = (typeof SEQUENCE_KINDS)[number];

/** F&O's number sequence settings (Organization administration > Number sequences). */
export interface NumberSequenceSettings {
  /** Manual: the user (caller) types every number; none is assigned. Default false. */
  readonly manual?: boolean;
  /** "To a lower number": a caller may replace the assigned number with a lower one. Default false. */
  readonly toALowerNumber?: boolean;
  /** "To a higher number": a caller may replace the assigned number with a higher one. Default false. */
  readonly toAHigherNumber?: boolean;
  /** Continuous: no gaps. Default true for customer accounts, false for sales orders. */
  readonly continuous?: boolean;
  /**
   * Constant segments and one run of `#` (the digits), e.g. `US-######`. Default: the example
   * business's own numbers (`US-######`, `DE-…`, `GB-…` with the seeded width; `SO-######`).
   */
  readonly format?: string;
  /** Smallest and Largest numeric values. Defaults 1 and the largest the digits hold. */
  readonly smallest?: number;
  readonly largest?: number;
}

/** Sandbox option: settings for every company, with per-company overrides. */
export type NumberSequenceOptions = {
  readonly [K in SequenceKind]?: NumberSequenceSettings & {
    readonly byCompany?: Readonly<Record<string, NumberSequenceSettings>>;
  };
};

/** One company's sequence as it stands. */
export interface NumberSequenceState {
  readonly kind: SequenceKind;
  readonly company: string;
  readonly manual: boolean;
  readonly toALowerNumber: boolean;
  readonly toAHigherNumber: boolean;
  readonly continuous: boolean;
  readonly format: string;
  readonly smallest: number;
  readonly largest: number;
  readonly next: number;
}

/** Why a number was refused: the Infolog lines F&O writes. */
export class NumberSequenceRefusal extends Error {
  override name = 'NumberSequenceRefusal';
  readonly infolog: readonly string[];
  constructor(infolog: readonly string[]) {
    super(infolog.join(' '));
    this.infolog = infolog;
  }
}

const FORMAT = /^([^#]*)(#+)([^#]*)$/;

/** Checks a settings object from code or the control surface; throws TypeError/RangeError. */
export function validateSequenceSettings(input: unknown): NumberSequenceSettings {
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    throw new TypeError('number sequence settings must be an object');
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(input)) {
    switch (k) {
      case 'manual':
      case 'toALowerNumber':
      case 'toAHigherNumber':
      case 'continuous':
        if (typeof v !== 'boolean') throw new TypeError(`${k} must be a boolean`);
        out[k] = v;
        break;
      case 'format':
        if (typeof v !== 'string' || !FORMAT.test(v) || v.length > 20)
          throw new RangeError(
            'format must be at most 20 characters with one run of # digits, e.g. US-######',
          );
        out[k] = v;
        break;
      case 'smallest':
      case 'largest':
        if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
          throw new RangeError(`${k} must be a non-negative integer`);
        out[k] = v;
        break;
      default:
        throw new TypeError(`unknown number sequence setting '${k}'`);
    }
  }
  return out as NumberSequenceSettings;
}

interface Sequence {
  settings: Required<NumberSequenceSettings>;
  next: number | undefined;
}

/** What the sequences need from the database: the first free number of a company's sequence. */
export interface SequenceSeed {
  /** The number Next starts at (one past the example business's highest), per kind and company. */
  initialNext(kind: SequenceKind, company: string, format: string): number;
  /** The default format per kind and company. */
  defaultFormat(kind: SequenceKind, company: string): string;
}

/** The per-company number sequences of one sandbox. */
export class NumberSequences {
  private readonly sequences = new Map<string, Sequence>();
  private readonly seed: SequenceSeed;
  private readonly gaps: ReturnType<typeof seededRandom>;

  constructor(seed: SequenceSeed, options: NumberSequenceOptions = {}, randomSeed = 1) {
    this.seed = seed;
    this.gaps = seededRandom(randomSeed ^ 0x5e9c);
    for (const kind of SEQUENCE_KINDS) {
      const given = options[kind];
      if (!given) continue;
      const { byCompany, ...all } = given;
      for (const le of LEGAL_ENTITIES) this.configure(kind, le.id, validateSequenceSettings(all));
      for (const [company, settings] of Object.entries(byCompany ?? {})) {
        this.configure(kind, company, validateSequenceSettings(settings));
      }
    }
  }

  private sequence(kind: SequenceKind, company: string): Sequence {
    const id = `${kind}:${company}`;
    let s = this.sequences.get(id);
    if (!s) {
      const format = this.seed.defaultFormat(kind, company);
      s = {
        settings: {
          manual: false,
          toALowerNumber: false,
          toAHigherNumber: false,
          continuous: kind === 'customerAccounts',
          format,
          smallest: 1,
          largest: largestFor(format),
        },
        next: undefined,
      };
      this.sequences.set(id, s);
    }
    return s;
  }

  /** Changes settings of one company's sequence (or of every company's when `company` is undefined). */
  configure(kind: SequenceKind, company: string | undefined, settings: NumberSequenceSettings): void {
    if (!SEQUENCE_KINDS.includes(kind)) throw new RangeError(`unknown number sequence '${String(kind)}'`);
    if (company === undefined) {
      for (const le of LEGAL_ENTITIES) this.configure(kind, le.id, settings);
      return;
    }
    const id = company.toLowerCase();
    if (!LEGAL_ENTITIES.some((le) => le.id === id)) throw new RangeError(`unknown company '${company}'`);
    const s = this.sequence(kind, id);
    const format = settings.format ?? s.settings.format;
    s.settings = {
      ...s.settings,
      ...settings,
      format,
      largest: settings.largest ?? (settings.format ? largestFor(format) : s.settings.largest),
    };
    if (settings.format) s.next = undefined;
  }

  /** The sequences as they stand (those touched or configured so far get their real Next). */
  list(): NumberSequenceState[] {
    const out: NumberSequenceState[] = [];
    for (const kind of SEQUENCE_KINDS) {
      for (const le of LEGAL_ENTITIES) out.push(this.state(kind, le.id));
    }
    return out;
  }

  state(kind: SequenceKind, company: string): NumberSequenceState {
    const s = this.sequence(kind, company);
    return { kind, company, ...s.settings, next: this.peek(kind, company, s) };
  }

  private peek(kind: SequenceKind, company: string, s: Sequence): number {
    s.next ??= Math.max(s.settings.smallest, this.seed.initialNext(kind, company, s.settings.format));
    return s.next;
  }

  /**
   * The number a create gets: the caller's (when allowed) or the next from the sequence. Throws
   * NumberSequenceRefusal with F&O's Infolog lines. `label` is the field's label ("Customer account").
   */
  resolve(kind: SequenceKind, company: string, given: unknown, label: string): string {
    const s = this.sequence(kind, company);
    const { settings } = s;
    const blank = given === undefined || given === null || given === '';
    if (blank) {
      if (settings.manual) throw new NumberSequenceRefusal([`Field '${label}' must be filled in.`]);
      let n = this.peek(kind, company, s);
      if (n > settings.largest) {
        throw new NumberSequenceRefusal([
          `Number sequence ${sequenceCode(kind, company)} has been exceeded. Number selection is canceled.`,
        ]);
      }
      // A non-continuous sequence sometimes loses a number (drawn for an insert that failed).
      if (!settings.continuous && this.gaps.next() < 0.03 && n + 1 <= settings.largest) n += 1;
      s.next = n + 1;
      return formatNumber(settings.format, n);
    }
    const value = String(given);
    if (settings.manual) return value;
    const numeric = parseNumber(settings.format, value);
    const refuse = (reason: string) =>
      new NumberSequenceRefusal([`Field ${label} doesn't allow editing. ${reason} Validations failed.`]);
    if (numeric === undefined) throw refuse(`Number ${value} doesn't match format ${settings.format}.`);
    if (numeric > settings.largest) throw refuse(`Highest number allowed is ${settings.largest}.`);
    if (numeric < settings.smallest) {
      throw new NumberSequenceRefusal([
        `Incoming ${label} < Lowest number allowed is ${settings.smallest}. Validations failed.`,
      ]);
    }
    const next = this.peek(kind, company, s);
    const allowed =
      (numeric > next && settings.toAHigherNumber) ||
      (numeric < next && settings.toALowerNumber) ||
      (numeric === next && (settings.toAHigherNumber || settings.toALowerNumber));
    if (!allowed) {
      throw refuse(
        `Invalid specification of ${label} doesn't allow change to a ${numeric < next ? 'lower' : 'higher'} number.`,
      );
    }
    if (numeric === next) s.next = next + 1;
    return value;
  }
}

/** The sandbox's name of a sequence (F&O shows the sequence code; ours are made up per company). */
const sequenceCode = (kind: SequenceKind, company: string): string =>
  `${kind === 'customerAccounts' ? 'Cust' : 'SalesOrd'}_${company.toUpperCase()}`;

const largestFor = (format: string): number => 10 ** (FORMAT.exec(format)?.[2]?.length ?? 6) - 1;

/** `US-######` and 42 → `US-000042`. */
export function formatNumber(format: string, n: number): string {
  const m = FORMAT.exec(format);
  if (!m) return String(n);
  return `${m[1] ?? ''}${String(n).padStart(m[2]?.length ?? 0, '0')}${m[3] ?? ''}`;
}

/** The numeric part of `value` when it matches `format` (constants case-insensitive), else undefined. */
export function parseNumber(format: string, value: string): number | undefined {
  const m = FORMAT.exec(format);
  if (!m) return undefined;
  const [, head = '', digits = '', tail = ''] = m;
  if (value.length !== head.length + digits.length + tail.length) return undefined;
  if (value.slice(0, head.length).toLowerCase() !== head.toLowerCase()) return undefined;
  if (value.slice(value.length - tail.length).toLowerCase() !== tail.toLowerCase()) return undefined;
  const middle = value.slice(head.length, head.length + digits.length);
  return /^\d+$/.test(middle) ? Number(middle) : undefined;
}
