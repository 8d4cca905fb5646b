import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { STREAM_IMAGE_EXCLUDES } from '../../lib/connector-stack.ts';

const root = join(import.meta.dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** The packages a file loads at run time (type-only imports are erased by Node's type stripping). */
function runtimePackages(text: string): string[] {
  const specifiers = [
    ...text.matchAll(/^\s*(?:import|export)\s+(?!type\s)[^;]*?\sfrom\s+'([^']+)'/gms),
    ...text.matchAll(/^\s*import\s+'([^']+)'/gm),
    ...text.matchAll(/\bimport\(\s*'([^']+)'\s*\)/g),
  ].map((m) => m[1] ?? '');
  return specifiers
    .filter((s) => !s.startsWith('.') && !s.startsWith('#') && !s.startsWith('node:'))
    .map((s) => (s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : (s.split('/')[0] ?? s)));
}

describe('the stream image (docker/stream.Dockerfile)', () => {
  it('installs production dependencies only, and the CDK is not one of them', () => {
    const dockerfile = readFileSync(join(root, 'docker/stream.Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
    for (const name of ['aws-cdk-lib', 'constructs', 'aws-cdk', 'cdk-nag', 'esbuild']) {
      expect(pkg.dependencies, name).not.toHaveProperty(name);
      expect(pkg.devDependencies, name).toHaveProperty(name);
    }
  });

  it('needs nothing at run time beyond the production dependencies (everything under functions/ it copies)', () => {
    expect(STREAM_IMAGE_EXCLUDES).toContain('!functions/**');
    const missing = sources(join(root, 'functions')).flatMap((file) =>
      runtimePackages(readFileSync(file, 'utf8'))
        .filter((name) => !(name in pkg.dependencies))
        .map((name) => `${file.slice(root.length + 1)}: ${name}`),
    );
    expect(missing).toEqual([]);
  });
});
