import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { PendingStore } from '#core/flows/pending-store.ts';

const ownDirs = () => new Set(readdirSync(tmpdir()).filter((d) => d.startsWith('ml-bulk-')));

describe('PendingStore', () => {
  it('keeps entries in insertion order across pages and transactions, replacing in place', () => {
    const store = new PendingStore();
    try {
      const n = 25_000;
      for (let i = 0; i < n; i++) {
        const key = `usmf:US-${i}`;
        expect(store.has(key)).toBe(false);
        store.add(key, `v${i}`);
      }
      expect(store.size).toBe(n);
      for (let i = 0; i < n; i += 2) expect(store.replace(`usmf:US-${i}`, `r${i}`)).toBe(true);
      expect(store.replace('usmf:absent', 'x')).toBe(false);
      expect(store.get('usmf:US-1')).toBe('v1');
      expect(store.get('usmf:US-24998')).toBe('r24998');
      const values = [...store.values()];
      expect(values).toHaveLength(n);
      expect(values.slice(0, 4)).toEqual(['r0', 'v1', 'r2', 'v3']);
      expect(values.at(-1)).toBe('v24999');
      expect(store.size).toBe(n);
    } finally {
      store.close();
    }
  });

  it('deletes its temporary file on close, also with writes not yet committed', () => {
    const before = ownDirs();
    const store = new PendingStore();
    const mine = [...ownDirs()].filter((d) => !before.has(d));
    expect(mine).toHaveLength(1);
    store.add('k', 'v');
    store.close();
    store.close();
    expect(existsSync(`${tmpdir()}/${mine[0]}`)).toBe(false);
  });
});
