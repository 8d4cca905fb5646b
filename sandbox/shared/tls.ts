/**
 * The sandboxes' local test certificate authority. A CA and a server certificate for
 * localhost / 127.0.0.1 / ::1 are generated once into a directory and reused; clients trust the CA
 * the ordinary way (NODE_EXTRA_CA_CERTS, or `trustCaFile` at process start), never by disabling checks.
 */
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tls from 'node:tls';
import forge from 'node-forge';

export interface SandboxTls {
  /** PEM of the CA certificate clients must trust. */
  readonly ca: string;
  /** Absolute path of the CA certificate file. */
  readonly caFile: string;
  /** PEM of the server certificate (valid for localhost, 127.0.0.1 and ::1). */
  readonly cert: string;
  /** PEM of the server key. */
  readonly key: string;
}

function rsaPair(): {
  privateKey: forge.pki.rsa.PrivateKey;
  publicKey: forge.pki.rsa.PublicKey;
  pem: string;
} {
  // Node generates the key (fast, native); forge only builds and signs the certificates.
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const key = forge.pki.privateKeyFromPem(pem);
  return { privateKey: key, publicKey: forge.pki.setRsaPublicKey(key.n, key.e), pem };
}

function certificate(
  subject: string,
  publicKey: forge.pki.rsa.PublicKey,
  serial: string,
  extensions: object[],
): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  cert.serialNumber = serial;
  cert.validity.notBefore = new Date(Date.now() - 24 * 3600_000);
  cert.validity.notAfter = new Date(Date.now() + 5 * 365 * 24 * 3600_000);
  cert.setSubject([{ name: 'commonName', value: subject }]);
  cert.setExtensions(extensions);
  return cert;
}

function generate(): { ca: string; cert: string; key: string } {
  const caKeys = rsaPair();
  const ca = certificate('ml-connector sandbox CA', caKeys.publicKey, '01', [
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  ca.setIssuer(ca.subject.attributes);
  ca.sign(caKeys.privateKey, forge.md.sha256.create());

  const leafKeys = rsaPair();
  const leaf = certificate('localhost', leafKeys.publicKey, '02', [
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    {
      name: 'subjectAltName',
      altNames: [
        { type: 2, value: 'localhost' },
        { type: 7, ip: '127.0.0.1' },
        { type: 7, ip: '::1' },
      ],
    },
  ]);
  leaf.setIssuer(ca.subject.attributes);
  leaf.sign(caKeys.privateKey, forge.md.sha256.create());
  return { ca: forge.pki.certificateToPem(ca), cert: forge.pki.certificateToPem(leaf), key: leafKeys.pem };
}

/** The default directory for the sandbox CA: `$ML_CONNECTOR_SANDBOX_DIR` or `.sandbox/tls` under the cwd. */
export function defaultTlsDir(): string {
  return process.env.ML_CONNECTOR_SANDBOX_DIR
    ? join(process.env.ML_CONNECTOR_SANDBOX_DIR, 'tls')
    : join(process.cwd(), '.sandbox', 'tls');
}

/** Loads the sandbox CA and server certificate from `dir`, generating them on first use. */
export async function ensureSandboxTls(dir: string = defaultTlsDir()): Promise<SandboxTls> {
  const caFile = join(dir, 'ca.pem');
  const certFile = join(dir, 'server.pem');
  const keyFile = join(dir, 'server-key.pem');
  if (!(existsSync(caFile) && existsSync(certFile) && existsSync(keyFile))) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const made = generate();
    // Write to temporary names first so concurrent starters never read half a file.
    const suffix = `.${process.pid}.tmp`;
    writeFileSync(keyFile + suffix, made.key, { mode: 0o600 });
    writeFileSync(certFile + suffix, made.cert);
    writeFileSync(caFile + suffix, made.ca);
    renameSync(keyFile + suffix, keyFile);
    renameSync(certFile + suffix, certFile);
    renameSync(caFile + suffix, caFile);
  }
  return {
    ca: readFileSync(caFile, 'utf8'),
    caFile,
    cert: readFileSync(certFile, 'utf8'),
    key: readFileSync(keyFile, 'utf8'),
  };
}

/**
 * Adds the CA in `file` to this process's default trust store, as NODE_EXTRA_CA_CERTS would at
 * start-up. Every TLS client in the process (undici, MSAL, gRPC with default credentials) then trusts it.
 */
export function trustCaFile(file: string): void {
  const extra = readFileSync(file, 'utf8');
  const current = tls.getCACertificates('default');
  if (current.includes(extra)) return;
  tls.setDefaultCACertificates([...current, extra]);
}
