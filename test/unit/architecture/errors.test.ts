/**
 * Every error the connector raises is a ConnectorError with typed context (house rule): no source
 * file under functions/ throws or rejects with a bare Error, TypeError or RangeError, and only the
 * base class extends Error.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const BARE = /\bnew\s+(Error|TypeError|RangeError|SyntaxError|ReferenceError)\s*\(/g;
const EXTENDS = /\bclass\s+(\w+)\s+extends\s+(Error|TypeError|RangeError)\b/g;

const files = readdirSync(join(ROOT, 'functions'), { recursive: true, withFileTypes: true })
  .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
  .map((entry) => relative(ROOT, join(entry.parentPath, entry.name)).split('\\').join('/'));

describe('the connector’s errors', () => {
  it('are never bare platform errors', () => {
    const found: string[] = [];
    for (const file of files) {
      const source = readFileSync(join(ROOT, file), 'utf8');
      for (const m of source.matchAll(BARE)) {
        found.push(`${file}:${source.slice(0, m.index).split('\n').length}: new ${m[1]}(`);
      }
    }
    expect(found).toEqual([]);
  });

  it('all descend from ConnectorError', () => {
    const found: string[] = [];
    for (const file of files) {
      if (file === 'functions/base/errors.ts') continue;
      for (const m of readFileSync(join(ROOT, file), 'utf8').matchAll(EXTENDS))
        found.push(`${file}: ${m[1]}`);
    }
    expect(files.length).toBeGreaterThan(100);
    expect(found).toEqual([]);
  });
});
