/**
 * Builds the published package's JavaScript: `node scripts/build.ts` (npm runs it before every
 * `npm pack` and `npm publish`, as `prepack`). The clone runs the TypeScript sources directly
 * (Node.js 24 strips the types), but Node refuses to strip types under node_modules
 * (ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING), so an installed package must carry JavaScript.
 *
 * esbuild, not tsc (docs/RELEASING.md, "The build"):
 * - it resolves the `#core/*.ts`-style `imports` aliases at build time; tsc's
 *   `rewriteRelativeImportExtensions` rewrites only relative specifiers, so emitted files would
 *   still ask for `#core/errors.ts`, which package.json maps onto a `.ts` file the package lacks;
 * - it is already the project's bundler (lib/bundling.ts, the Lambda functions);
 * - one entry and a few chunks start faster than hundreds of modules, and it takes a second.
 *
 * What it writes into dist/:
 * - `ml-connector.js`, the command (bin/ml-connector.ts, its shebang kept), ESM for Node.js 24.
 *   Dependencies stay external: npm installs them from package.json `dependencies`.
 * - chunks for what the command loads only with `import()` (the sandboxes), so `--help` or
 *   `status` do not load node-forge or the sandboxes' servers.
 * - the two files the code reads beside itself with `new URL('./…', import.meta.url)`:
 *   `pubsub.proto` (functions/salesforce/pubsub/proto.ts) and `reference/fo-entities.json`
 *   (sandbox/dynamics/schema.ts). Every output lands in dist/ itself, so those URLs resolve there;
 *   the build fails if a chunk would land elsewhere.
 * - `ML_CONNECTOR_VERSION` is package.json's version (functions/base/version.ts), as for the Lambdas.
 * The build fails when the output imports a package that is not in package.json `dependencies`
 * (a devDependency such as a test or benchmark tool would be missing from an installed package).
 * Not minified, without source maps: stack traces users paste into issues stay readable.
 */
import { copyFileSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { VERSION } from '#base/version.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Files read at run time beside the module that reads them: source → path under dist/. */
export const PACKAGE_ASSETS: Readonly<Record<string, string>> = {
  'functions/salesforce/pubsub/pubsub.proto': 'pubsub.proto',
  'sandbox/dynamics/reference/fo-entities.json': 'reference/fo-entities.json',
};

/** The package a bare import specifier names (`@scope/name/deep.js` → `@scope/name`). */
function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? specifier);
}

/** Builds the package into `outdir` (default dist/ under the project root); returns the files written. */
export async function buildPackage(outdir = join(ROOT, 'dist')): Promise<string[]> {
  rmSync(outdir, { recursive: true, force: true });
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: { 'ml-connector': 'bin/ml-connector.ts' },
    outdir,
    bundle: true,
    splitting: true,
    chunkNames: 'chunk-[hash]',
    platform: 'node',
    target: 'node24',
    format: 'esm',
    packages: 'external',
    define: { ML_CONNECTOR_VERSION: JSON.stringify(VERSION) },
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
  });
  const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    dependencies?: Record<string, string>;
  };
  const imported = new Set(
    Object.values(result.metafile.outputs).flatMap((output) =>
      output.imports.filter((i) => i.external && !i.path.startsWith('node:')).map((i) => packageOf(i.path)),
    ),
  );
  const undeclared = [...imported].filter((name) => !(name in (manifest.dependencies ?? {})));
  if (undeclared.length > 0)
    throw new Error(`the package imports what package.json dependencies lack: ${undeclared.join(', ')}`);
  const written = Object.keys(result.metafile.outputs).map((file) => relative(outdir, join(ROOT, file)));
  const misplaced = written.filter((file) => dirname(file) !== '.');
  if (misplaced.length > 0)
    throw new Error(
      `every output must land in ${outdir} itself (assets resolve there): ${misplaced.join(', ')}`,
    );
  for (const [source, target] of Object.entries(PACKAGE_ASSETS)) {
    mkdirSync(dirname(join(outdir, target)), { recursive: true });
    copyFileSync(join(ROOT, source), join(outdir, target));
    written.push(target);
  }
  return written.sort();
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const files = await buildPackage();
  process.stdout.write(`ml-connector ${VERSION}: built ${files.length} files into dist/\n`);
}
