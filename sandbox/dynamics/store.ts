/**
 * One entity set's records in key order: an optional virtual base (records generated from their
 * index, per legal entity) overlaid with changed, deleted and created records. Scans are lazy and
 * can resume after any key in O(log N), which keeps paging through a million records O(N).
 */
import type { Rec } from './data.ts';

/** A block of generated records for one company (or the global block, company ''). */
export interface VirtualBlock {
  readonly company: string;
  readonly count: number;
  /** The key values of record `i`; must be strictly increasing in `i` under `keyId` order. */
  keyAt(i: number): readonly string[];
  recordAt(i: number): Rec;
  /** The index of the record with these key values (case-insensitive), or undefined. */
  indexOf(key: readonly string[]): number | undefined;
}

/** The canonical, case-insensitive identity of a key tuple; orders like the tuple. */
export const keyId = (key: readonly string[]): string => key.map((k) => k.toLowerCase()).join('\u0000');

export interface StoredRecord {
  readonly rec: Rec;
  /** Bumped on every write; feeds the ETag. */
  readonly version: number;
}

/** A generated record that is only built when its fields are read (skipping and counting stay cheap). */
class LazyRecord implements StoredRecord {
  private built: Rec | undefined;
  private readonly block: VirtualBlock;
  private readonly index: number;
  readonly version: number;

  constructor(block: VirtualBlock, index: number, version: number) {
    this.block = block;
    this.index = index;
    this.version = version;
  }

  get rec(): Rec {
    this.built ??= this.block.recordAt(this.index);
    return this.built;
  }
}

/** Records of one entity set. */
export class EntityStore {
  readonly keys: readonly string[];
  private readonly blocks: readonly VirtualBlock[];
  /** Base records that were changed (record) or deleted (null). */
  private readonly overrides = new Map<string, StoredRecord | null>();
  /** Records not in the base, sorted by keyId. */
  private readonly extraIds: string[] = [];
  private readonly extras = new Map<string, StoredRecord>();
  private versionCounter = 1;
  /** Incremented on every write; caches keyed on it go stale. */
  generation = 0;
  /** Undo steps of the open transaction, newest last. */
  private journal: (() => void)[] | undefined;

  constructor(keys: readonly string[], blocks: readonly VirtualBlock[] = []) {
    this.keys = keys;
    this.blocks = [...blocks].sort((a, b) => (a.company < b.company ? -1 : a.company > b.company ? 1 : 0));
  }

  keyOf(rec: Rec): string[] {
    return this.keys.map((k) => String(rec[k] ?? ''));
  }

  private blockFor(key: readonly string[]): VirtualBlock | undefined {
    const company = this.keys[0] === 'dataAreaId' ? (key[0] ?? '').toLowerCase() : '';
    return this.blocks.find((b) => b.company === company);
  }

  private baseVersion(id: string): number {
    let h = 0;
    for (let i = 0; i < id.length; i++) h = (Math.imul(h, 31) + id.charCodeAt(i)) >>> 0;
    return h % 100000;
  }

  /** The record with these key values (case-insensitive), or undefined. */
  get(key: readonly string[]): StoredRecord | undefined {
    const id = keyId(key);
    const extra = this.extras.get(id);
    if (extra) return extra;
    const override = this.overrides.get(id);
    if (override !== undefined) return override ?? undefined;
    const block = this.blockFor(key);
    const i = block?.indexOf(key);
    if (block === undefined || i === undefined) return undefined;
    return { rec: block.recordAt(i), version: this.baseVersion(id) };
  }

  /** Inserts a new record; returns false when the key exists. */
  insert(rec: Rec): StoredRecord | undefined {
    const key = this.keyOf(rec);
    if (this.get(key)) return undefined;
    const id = keyId(key);
    this.capture(id);
    const stored = { rec, version: this.nextVersion() };
    this.generation += 1;
    if (this.overrides.has(id)) {
      this.overrides.set(id, stored);
      return stored;
    }
    this.extras.set(id, stored);
    this.extraIds.splice(this.lowerBound(id), 0, id);
    return stored;
  }

  /** Replaces an existing record (same key). */
  replace(rec: Rec): StoredRecord {
    const id = keyId(this.keyOf(rec));
    this.capture(id);
    const stored = { rec, version: this.nextVersion() };
    this.generation += 1;
    if (this.extras.has(id)) this.extras.set(id, stored);
    else this.overrides.set(id, stored);
    return stored;
  }

  /** Deletes a record; returns false when absent. */
  remove(key: readonly string[]): boolean {
    if (!this.get(key)) return false;
    const id = keyId(key);
    this.capture(id);
    this.generation += 1;
    if (this.extras.delete(id)) {
      this.extraIds.splice(this.lowerBound(id), 1);
    } else {
      this.overrides.set(id, null);
    }
    return true;
  }

  /** Starts recording undo steps (a `$batch` changeset); `rollback` or `commit` ends it. */
  begin(): void {
    this.journal = [];
  }

  /** Keeps the changes made since `begin`. */
  commit(): void {
    this.journal = undefined;
  }

  /** Undoes every change made since `begin`. */
  rollback(): void {
    const steps = this.journal ?? [];
    this.journal = undefined;
    for (const step of steps.reverse()) step();
    this.generation += 1;
  }

  private capture(id: string): void {
    if (!this.journal) return;
    const hadOverride = this.overrides.has(id);
    const override = this.overrides.get(id);
    const extra = this.extras.get(id);
    this.journal.push(() => {
      if (hadOverride) this.overrides.set(id, override ?? null);
      else this.overrides.delete(id);
      const hasExtra = this.extras.has(id);
      if (extra) {
        this.extras.set(id, extra);
        if (!hasExtra) this.extraIds.splice(this.lowerBound(id), 0, id);
      } else if (hasExtra) {
        this.extras.delete(id);
        this.extraIds.splice(this.lowerBound(id), 1);
      }
    });
  }

  private nextVersion(): number {
    this.versionCounter += 1;
    return 100000 + this.versionCounter;
  }

  private lowerBound(id: string, after = false): number {
    let lo = 0;
    let hi = this.extraIds.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const v = this.extraIds[mid] as string;
      if (v < id || (after && v === id)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private blockStart(block: VirtualBlock, afterId: string | undefined): number {
    if (afterId === undefined) return 0;
    let lo = 0;
    let hi = block.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (keyId(block.keyAt(mid)) <= afterId) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** How many records `scan(companies)` yields, without generating any. */
  count(companies: ReadonlySet<string> | undefined): number {
    const inScope = (id: string) =>
      !companies || this.keys[0] !== 'dataAreaId' || companies.has(id.split('\u0000')[0] ?? '');
    let n = 0;
    for (const block of this.blocks) {
      if (!companies || this.keys[0] !== 'dataAreaId' || companies.has(block.company)) n += block.count;
    }
    for (const [id, v] of this.overrides) if (v === null && inScope(id)) n -= 1;
    for (const id of this.extraIds) if (inScope(id)) n += 1;
    return n;
  }

  /**
   * Records in key order, restricted to `companies` (lowercase; undefined = all), strictly after
   * the key `afterId` (a `keyId`) when given.
   */
  *scan(companies: ReadonlySet<string> | undefined, afterId?: string): Generator<StoredRecord> {
    const companyOf = (id: string): string =>
      this.keys[0] === 'dataAreaId' ? (id.split('\u0000')[0] ?? '') : '';
    let x = afterId === undefined ? 0 : this.lowerBound(afterId, true);
    const nextExtra = (): string | undefined => {
      while (x < this.extraIds.length) {
        const id = this.extraIds[x] as string;
        if (!companies || companies.has(companyOf(id))) return id;
        x += 1;
      }
      return undefined;
    };
    for (const block of this.blocks) {
      if (companies && this.keys[0] === 'dataAreaId' && !companies.has(block.company)) continue;
      for (let i = this.blockStart(block, afterId); i < block.count; i++) {
        const id = keyId(block.keyAt(i));
        for (let e = nextExtra(); e !== undefined && e < id; e = nextExtra()) {
          yield this.extras.get(e) as StoredRecord;
          x += 1;
        }
        const override = this.overrides.get(id);
        if (override === null) continue;
        yield override ?? new LazyRecord(block, i, this.baseVersion(id));
      }
    }
    for (let e = nextExtra(); e !== undefined; e = nextExtra()) {
      yield this.extras.get(e) as StoredRecord;
      x += 1;
    }
  }
}
