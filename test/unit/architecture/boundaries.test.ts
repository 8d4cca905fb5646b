/**
 * The dependency rule of docs/ARCHITECTURE.md, enforced: every import (static, `export … from`,
 * side-effect and dynamic `import()`) of every source file under functions/, sandbox/, lib/ and
 * bin/ is resolved (package.json `imports` aliases, relative paths) and checked against the table
 * of allowed layer → layer edges below. A failure names the file, the import and the rule.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, posix, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** The layers, by folder; the first matching prefix wins (core/ports before core). */
const LAYERS = [
  ['functions/base/', 'base'],
  ['functions/core/ports/', 'ports'],
  ['functions/core/', 'core'],
  ['functions/http/', 'http'],
  ['functions/dynamics/', 'dynamics'],
  ['functions/salesforce/', 'salesforce'],
  ['functions/adapters/', 'adapters'],
  ['functions/handlers/', 'handlers'],
  ['functions/stream/', 'stream'],
  ['functions/cli/', 'cli'],
  ['sandbox/', 'sandbox'],
  ['lib/', 'lib'],
  ['bin/', 'bin'],
  ['test/', 'test'],
  ['bench/', 'bench'],
] as const;

type Layer = (typeof LAYERS)[number][1];

/**
 * What each layer may import besides itself: a layer name, or a path prefix (a folder ending in
 * `/` or one file) when only part of a layer is allowed. Keep docs/ARCHITECTURE.md in step.
 */
const ALLOWED: Readonly<Record<Exclude<Layer, 'test' | 'bench'>, readonly string[]>> = {
  base: [],
  ports: ['base'],
  core: ['base', 'ports'],
  http: ['base'],
  dynamics: ['base', 'ports', 'http'],
  salesforce: ['base', 'ports', 'http'],
  adapters: ['base', 'ports', 'core', 'http', 'dynamics', 'salesforce'],
  handlers: ['base', 'ports', 'core', 'adapters'],
  stream: ['base', 'ports', 'core', 'adapters', 'salesforce'],
  cli: ['base', 'ports', 'core', 'adapters', 'http', 'dynamics', 'salesforce'],
  // The sandboxes speak the Pub/Sub wire protocol with the subscriber's own codecs.
  sandbox: ['base', 'functions/salesforce/pubsub/'],
  // The CDK app shares the configuration schema and the contract (names, entry points) with the code.
  lib: ['base', 'functions/core/config/', 'functions/adapters/aws/contract.ts'],
  bin: ['lib', 'functions/cli/main.ts'],
};

/** The CLI commands that start the built-in sandboxes (and only they) may import sandbox/. */
const SANDBOX_USERS: ReadonlySet<string> = new Set([
  'functions/cli/sandbox.ts',
  'functions/cli/demo.ts',
  'functions/cli/demo-config.ts',
  'functions/cli/demo-invoice.ts',
  'functions/cli/start.ts',
]);

/** Packages the inner layers may use: the core runs on Node's built-ins, zod and yaml, never an SDK or transport. */
const PACKAGES: Partial<Record<Layer, (name: string) => boolean>> = {
  base: (name) => name.startsWith('node:'),
  ports: (name) => name.startsWith('node:'),
  core: (name) => name.startsWith('node:') || name === 'zod' || name === 'yaml',
};

const CHECKED = ['functions', 'sandbox', 'lib', 'bin'];

/** The module specifiers a source imports, with their line numbers; `undefined` for a non-literal import(). */
function importsOf(source: string): { specifier: string | undefined; line: number }[] {
  // Comments out (kept as blank space so offsets and line numbers stay).
  const code = source.replace(/\/\*[\s\S]*?\*\/|(^|[^:'"`])\/\/[^\n]*/g, (m, lead: string | undefined) =>
    m.startsWith('/*')
      ? m.replace(/[^\n]/g, ' ')
      : `${lead ?? ''}${' '.repeat(m.length - (lead ?? '').length)}`,
  );
  const found: { specifier: string | undefined; line: number; at: number }[] = [];
  const lineAt = (at: number) => code.slice(0, at).split('\n').length;
  const patterns = [
    /\b(?:import|export)\s+(?:type\s+)?[^'";]*?\sfrom\s*['"]([^'"]+)['"]/g,
    /\bimport\s*['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*[,)]/g,
  ];
  for (const pattern of patterns) {
    for (const m of code.matchAll(pattern))
      found.push({ specifier: m[1], line: lineAt(m.index), at: m.index });
  }
  for (const m of code.matchAll(/\bimport\s*\(\s*(?!['"])/g)) {
    found.push({ specifier: undefined, line: lineAt(m.index), at: m.index });
  }
  return found.sort((a, b) => a.at - b.at).map(({ specifier, line }) => ({ specifier, line }));
}

const aliases = Object.entries(
  (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { imports: Record<string, string> })
    .imports,
);

/** The repository-relative path an internal specifier points at, or undefined for a package. */
function resolveSpecifier(from: string, specifier: string): string | undefined {
  if (specifier.startsWith('.')) return posix.normalize(posix.join(posix.dirname(from), specifier));
  if (!specifier.startsWith('#')) return undefined;
  for (const [pattern, target] of aliases) {
    const prefix = pattern.replace(/\*$/, '');
    if (specifier.startsWith(prefix)) {
      return posix.normalize(target.replace(/\*$/, specifier.slice(prefix.length)).replace(/^\.\//, ''));
    }
  }
  return `<unknown alias ${specifier}>`;
}

function layerOf(path: string): Layer | undefined {
  return LAYERS.find(([prefix]) => path.startsWith(prefix))?.[1];
}

function packageName(specifier: string): string {
  if (specifier.startsWith('node:')) return specifier;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] as string);
}

/** Why an import breaks the rule, or undefined when it keeps it. */
function violation(file: string, specifier: string | undefined): string | undefined {
  const from = layerOf(file);
  if (from === undefined || from === 'test' || from === 'bench') return `${file} is in no layer`;
  if (specifier === undefined) return 'a non-literal import() cannot be checked';
  const target = resolveSpecifier(file, specifier);
  if (target === undefined) {
    const allowed = PACKAGES[from];
    return allowed && !allowed(packageName(specifier))
      ? `${from} may not import the package ${packageName(specifier)}`
      : undefined;
  }
  const to = layerOf(target);
  if (to === undefined) return `${specifier} resolves outside every layer (${target})`;
  if (to === from) return undefined;
  if (to === 'sandbox' && from === 'cli' && SANDBOX_USERS.has(file)) return undefined;
  const rules = ALLOWED[from];
  const ok = rules.some((rule) => (rule.includes('/') ? target.startsWith(rule) : rule === to));
  return ok ? undefined : `${from} may not import ${to} (allowed: ${rules.join(', ') || 'nothing'})`;
}

function sourceFiles(folder: string): string[] {
  return readdirSync(join(ROOT, folder), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => relative(ROOT, join(entry.parentPath, entry.name)).split('\\').join('/'));
}

describe('the dependency rule', () => {
  const files = CHECKED.flatMap(sourceFiles);

  it('finds the source files of every checked folder and their imports', () => {
    expect(files.length).toBeGreaterThan(150);
    for (const folder of CHECKED) expect(files.some((f) => f.startsWith(`${folder}/`))).toBe(true);
    const imports = files.flatMap((f) => importsOf(readFileSync(join(ROOT, f), 'utf8')));
    expect(imports.length).toBeGreaterThan(900);
  });

  it('holds for every import of every source file', () => {
    const broken: string[] = [];
    for (const file of files) {
      for (const { specifier, line } of importsOf(readFileSync(join(ROOT, file), 'utf8'))) {
        const why = violation(file, specifier);
        if (why) broken.push(`${file}:${line} imports '${specifier ?? '(expression)'}': ${why}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('allows no cycle between layers', () => {
    const edges = new Map<string, string[]>(
      Object.entries(ALLOWED).map(([layer, rules]) => [
        layer,
        rules.map((rule) => (rule.includes('/') ? (layerOf(rule) as string) : rule)),
      ]),
    );
    const reaches = (from: string, to: string, seen = new Set<string>()): boolean =>
      (edges.get(from) ?? []).some(
        (next) => next === to || (!seen.has(next) && reaches(next, to, seen.add(next))),
      );
    const cycles = [...edges.keys()].filter((layer) => reaches(layer, layer));
    expect(cycles).toEqual([]);
  });
});

describe('importsOf', () => {
  it('reads static, type-only, re-export, side-effect, multi-line and dynamic imports', () => {
    const source = [
      "import { a } from '#core/a.ts';",
      "import type { B } from './b.ts';",
      "export { c } from '../c.ts';",
      "import 'node:process';",
      'import {',
      '  d,',
      '  e,',
      "} from '#dynamics/client.ts';",
      "const f = await import('#sandbox/index.ts');",
      'const g = await import(name);',
    ].join('\n');
    expect(importsOf(source)).toEqual([
      { specifier: '#core/a.ts', line: 1 },
      { specifier: './b.ts', line: 2 },
      { specifier: '../c.ts', line: 3 },
      { specifier: 'node:process', line: 4 },
      { specifier: '#dynamics/client.ts', line: 5 },
      { specifier: '#sandbox/index.ts', line: 9 },
      { specifier: undefined, line: 10 },
    ]);
  });

  it('ignores imports written in comments', () => {
    expect(importsOf("// import { a } from '#dynamics/client.ts';\n/* import('#sandbox/x.ts') */")).toEqual(
      [],
    );
  });
});

describe('violation', () => {
  it('refuses a core module that imports a concrete client', () => {
    expect(violation('functions/core/flows/x.ts', '#dynamics/client.ts')).toBe(
      'core may not import dynamics (allowed: base, ports)',
    );
    expect(violation('functions/core/flows/x.ts', '@aws-sdk/client-sqs')).toBe(
      'core may not import the package @aws-sdk/client-sqs',
    );
  });

  it('refuses a client that imports the core beyond its ports', () => {
    expect(violation('functions/salesforce/x.ts', '#core/flows/sync.ts')).toMatch(
      /^salesforce may not import core/,
    );
    expect(violation('functions/salesforce/x.ts', '#core/ports/salesforce/errors.ts')).toBeUndefined();
  });

  it('lets only the sandbox-starting CLI commands import the sandboxes', () => {
    expect(violation('functions/cli/demo.ts', '#sandbox/index.ts')).toBeUndefined();
    expect(violation('functions/cli/sync.ts', '#sandbox/index.ts')).toMatch(/^cli may not import sandbox/);
    expect(violation('functions/adapters/clients.ts', '#sandbox/index.ts')).toMatch(/may not import sandbox/);
  });

  it('resolves relative imports across folders', () => {
    expect(violation('functions/http/client.ts', '../core/engine/context.ts')).toMatch(
      /^http may not import core/,
    );
    expect(violation('bin/ml-connector.ts', '../functions/cli/main.ts')).toBeUndefined();
    expect(violation('lib/x.ts', '../functions/core/flows/sync.ts')).toMatch(/^lib may not import core/);
  });
});
