/**
 * The documentation stays inside the repository: every relative link in README.md and docs/
 * resolves to a file or folder of the repository (no path escaping it, no absolute file path),
 * and the README links the architecture document.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

const documents = [
  'README.md',
  ...readdirSync(join(ROOT, 'docs'), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.md'))
    .map((entry) => relative(ROOT, join(entry.parentPath, entry.name)).split('\\').join('/')),
];

/** Markdown link targets (inline links), without code spans and fenced blocks. */
function linksOf(markdown: string): string[] {
  const text = markdown.replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '');
  return [...text.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((m) => m[1] as string);
}

describe('the documentation links', () => {
  it('point inside the repository, at files that exist', () => {
    const broken: string[] = [];
    for (const document of documents) {
      for (const link of linksOf(readFileSync(join(ROOT, document), 'utf8'))) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(link) || link.startsWith('#')) continue;
        const path = link.split('#')[0] as string;
        const target = resolve(ROOT, dirname(document), path);
        const inside = target === ROOT || target.startsWith(`${ROOT}/`);
        if (path.startsWith('/') || !inside || !existsSync(target)) broken.push(`${document}: ${link}`);
      }
    }
    expect(documents).toContain('docs/ARCHITECTURE.md');
    expect(broken).toEqual([]);
  });

  it('lead from the README to the architecture', () => {
    expect(linksOf(readFileSync(join(ROOT, 'README.md'), 'utf8'))).toContain('docs/ARCHITECTURE.md');
  });
});
