/**
 * Local secrets: an AES-256-GCM encrypted file, readable only by its owner (0600), in the user's
 * configuration directory. The key is derived (scrypt) from ML_CONNECTOR_PASSPHRASE when set;
 * otherwise it is a random key kept in a separate 0600 key file beside it, so a copied or backed-up
 * credentials file alone reveals nothing. Environment variables can override each value (CI, containers).
 */
import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { ConfigError, ConnectorError } from '#base/errors.ts';
import { type ConnectorSecrets, type Secrets, secretsFrom } from '#core/ports/secrets.ts';

const MAGIC = 'mlc1';

export interface SecretsFileOptions {
  /** The encrypted file. Default `$XDG_CONFIG_HOME/ml-connector/credentials.enc` (or ~/.config/…). */
  readonly path?: string;
  /** The process environment (the only place this adapter reads variables from). */
  readonly env?: NodeJS.ProcessEnv;
}

export function defaultSecretsPath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME || join(homedir(), '.config');
  return join(base, 'ml-connector', 'credentials.enc');
}

function keyFor(path: string, env: NodeJS.ProcessEnv, create: boolean): Buffer {
  const passphrase = env.ML_CONNECTOR_PASSPHRASE;
  if (passphrase) return scryptSync(passphrase, 'ml-connector credentials v1', 32);
  const keyPath = `${path}.key`;
  if (!existsSync(keyPath)) {
    if (!create)
      throw new ConfigError('credentials', `no key file at ${keyPath}; run \`ml-connector credentials set\``);
    writeFileSync(keyPath, randomBytes(32).toString('base64'), { mode: 0o600 });
  }
  return Buffer.from(readFileSync(keyPath, 'utf8').trim(), 'base64');
}

function assertPrivate(path: string): void {
  const mode = statSync(path).mode & 0o077;
  if (mode !== 0) {
    throw new ConfigError('credentials', `${path} is readable by other users; run \`chmod 600 ${path}\``);
  }
}

/** Encrypts and writes the secrets (atomically, 0600). */
export function writeSecretsFile(secrets: ConnectorSecrets, options: SecretsFileOptions = {}): string {
  const env = options.env ?? process.env;
  const path = options.path ?? defaultSecretsPath(env);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const key = keyFor(path, env, true);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const body = Buffer.concat([cipher.update(JSON.stringify(secrets), 'utf8'), cipher.final()]);
  const text = [
    MAGIC,
    iv.toString('base64'),
    cipher.getAuthTag().toString('base64'),
    body.toString('base64'),
  ].join('.');
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
  return path;
}

function readSecretsFile(path: string, env: NodeJS.ProcessEnv): ConnectorSecrets {
  assertPrivate(path);
  const [magic, iv, tag, body] = readFileSync(path, 'utf8').trim().split('.');
  if (magic !== MAGIC || !iv || !tag || !body)
    throw new ConfigError('credentials', `${path} is not an ml-connector credentials file`);
  try {
    const decipher = createDecipheriv('aes-256-gcm', keyFor(path, env, false), Buffer.from(iv, 'base64'));
    decipher.setAuthTag(Buffer.from(tag, 'base64'));
    const text = Buffer.concat([decipher.update(Buffer.from(body, 'base64')), decipher.final()]).toString(
      'utf8',
    );
    return JSON.parse(text) as ConnectorSecrets;
  } catch (cause) {
    if (cause instanceof ConnectorError) throw cause;
    throw new ConfigError(
      'credentials',
      `cannot decrypt ${path}: wrong ML_CONNECTOR_PASSPHRASE or key file`,
      { cause },
    );
  }
}

/** Environment overrides: ML_CONNECTOR_DYNAMICS_CLIENT_ID/SECRET, ML_CONNECTOR_SALESFORCE_CLIENT_ID/SECRET, ML_CONNECTOR_BUSINESS_EVENT_SECRET(_PREVIOUS). */
function fromEnv(env: NodeJS.ProcessEnv, base: Partial<ConnectorSecrets>): ConnectorSecrets | undefined {
  const pick = (name: string, fallback: string | undefined) => env[`ML_CONNECTOR_${name}`] || fallback;
  const secrets = {
    dynamics: {
      clientId: pick('DYNAMICS_CLIENT_ID', base.dynamics?.clientId),
      clientSecret: pick('DYNAMICS_CLIENT_SECRET', base.dynamics?.clientSecret),
    },
    salesforce: {
      clientId: pick('SALESFORCE_CLIENT_ID', base.salesforce?.clientId),
      clientSecret: pick('SALESFORCE_CLIENT_SECRET', base.salesforce?.clientSecret),
    },
    businessEvents: {
      current: pick('BUSINESS_EVENT_SECRET', base.businessEvents?.current),
      previous: pick('BUSINESS_EVENT_SECRET_PREVIOUS', base.businessEvents?.previous),
    },
  };
  const { dynamics, salesforce, businessEvents } = secrets;
  if (
    !dynamics.clientId ||
    !dynamics.clientSecret ||
    !salesforce.clientId ||
    !salesforce.clientSecret ||
    !businessEvents.current
  ) {
    return undefined;
  }
  return secrets as ConnectorSecrets;
}

/** The Secrets port on the local file, with environment overrides; undefined-safe `has()` for the demo check. */
export function createFileSecrets(options: SecretsFileOptions = {}): Secrets & { has(): boolean } {
  const env = options.env ?? process.env;
  const path = options.path ?? defaultSecretsPath(env);
  const load = (): ConnectorSecrets | undefined =>
    fromEnv(env, existsSync(path) ? readSecretsFile(path, env) : {});
  return {
    has: () => load() !== undefined,
    ...secretsFrom(async () => {
      const secrets = load();
      if (!secrets) {
        throw new ConfigError(
          'credentials',
          `no credentials: run \`ml-connector credentials set\` (stored encrypted in ${path}) or set the ML_CONNECTOR_* variables`,
        );
      }
      return secrets;
    }),
  };
}
