/**
 * Reads the configuration file's text (YAML, a superset of JSON) into a validated configuration.
 * Syntax errors name the line; schema errors name the key (see validate.ts). Secrets are refused:
 * a key that looks like a credential means someone pasted one into the file.
 */
import { parseDocument } from 'yaml';
import type { ConnectorConfig } from './schema.ts';
import { type ConfigProblem, ConfigValidationError, validateConfig } from './validate.ts';

const SECRET_KEY = /^(client_?secret|secret|password|access_?token|token)$/i;

function findSecrets(value: unknown, path: string[] = []): ConfigProblem[] {
  if (!value || typeof value !== 'object') return [];
  const out: ConfigProblem[] = [];
  for (const [k, v] of Object.entries(value)) {
    if (SECRET_KEY.test(k)) {
      out.push({
        key: [...path, k].join('.'),
        message:
          'secrets never go in the configuration file: remove it and run `ml-connector credentials set`',
      });
    } else {
      out.push(...findSecrets(v, [...path, k]));
    }
  }
  return out;
}

/** Parses YAML/JSON text and validates it; `source` (a file name) prefixes syntax errors. */
export function parseConfig(text: string, source = 'configuration'): ConnectorConfig {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigValidationError(
      doc.errors.map((e) => ({
        key: `${source}:${(e.linePos?.[0]?.line ?? 0) || '?'}`,
        message: e.message.split('\n')[0] ?? e.message,
      })),
    );
  }
  const raw: unknown = doc.toJS();
  const secrets = findSecrets(raw);
  if (secrets.length > 0) throw new ConfigValidationError(secrets);
  return validateConfig(raw ?? {});
}
