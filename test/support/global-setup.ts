import { join } from 'node:path';
import { ensureSandboxTls } from '#sandbox/shared/tls.ts';

/**
 * Creates the sandbox CA once for the run and trusts it the ordinary way: forked test workers
 * start with NODE_EXTRA_CA_CERTS pointing at it.
 */
export default async function setup(): Promise<void> {
  const dir = join(process.cwd(), '.sandbox', 'test');
  process.env.ML_CONNECTOR_SANDBOX_DIR = dir;
  const tls = await ensureSandboxTls(join(dir, 'tls'));
  process.env.NODE_EXTRA_CA_CERTS = tls.caFile;
}
