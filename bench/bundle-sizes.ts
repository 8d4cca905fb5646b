/**
 * Bundles each Lambda entry point (and the Fargate task's) as the stack deploys them, with the
 * stack's own esbuild settings (lib/bundling.ts: ESM for node24, minified, source maps, the AWS SDK
 * v3 clients bundled and tree-shaken). Prints each bundle's size in KiB, gzipped size, and the
 * packages that weigh most, then the figures as JSON on stdout.
 *
 *   scripts/node24 node bench/bundle-sizes.ts
 */
import { gzipSync } from 'node:zlib';
import { build, type Metafile } from 'esbuild';
import { ENTRY_POINTS } from '../functions/adapters/aws/contract.ts';
import { esbuildOptions } from '../lib/bundling.ts';

const kib = (bytes: number) => Math.round((bytes / 1024) * 10) / 10;

/** Bytes per package (or `functions/…` for our own code) in the output. */
function heaviest(metafile: Metafile, top = 6): [string, number][] {
  const byPackage = new Map<string, number>();
  for (const output of Object.values(metafile.outputs)) {
    for (const [path, { bytesInOutput }] of Object.entries(output.inputs)) {
      const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
      const name = m ? m[1] : path.split('/').slice(0, 2).join('/');
      byPackage.set(name ?? path, (byPackage.get(name ?? path) ?? 0) + bytesInOutput);
    }
  }
  return [...byPackage].sort((a, b) => b[1] - a[1]).slice(0, top);
}

const results: Record<string, { kib: number; gzipKib: number; sourcemapKib: number }> = {};
for (const [name, entry] of Object.entries(ENTRY_POINTS)) {
  const result = await build({
    ...esbuildOptions(),
    // The task runs from source on Fargate, where credentials come from the container endpoint.
    ...(name === 'stream' ? { external: [] } : {}),
    entryPoints: [entry],
    outfile: `out/${name}.mjs`,
    write: false,
    metafile: true,
    logLevel: 'error',
  });
  const js = result.outputFiles.find((f) => f.path.endsWith('.mjs'));
  const map = result.outputFiles.find((f) => f.path.endsWith('.map'));
  if (!js) throw new Error(`no bundle for ${name}`);
  results[name] = {
    kib: kib(js.contents.byteLength),
    gzipKib: kib(gzipSync(js.contents).byteLength),
    sourcemapKib: kib(map?.contents.byteLength ?? 0),
  };
  const parts = heaviest(result.metafile)
    .map(([pkg, bytes]) => `${pkg} ${kib(bytes)}`)
    .join(', ');
  process.stderr.write(
    `${name.padEnd(15)} ${String(results[name].kib).padStart(8)} KiB  (gzip ${results[name].gzipKib} KiB)  ${parts}\n`,
  );
}
process.stdout.write(`${JSON.stringify({ bundles: results }, null, 2)}\n`);
