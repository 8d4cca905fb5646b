/**
 * Validates raw configuration into a frozen `ConnectorConfig`; every problem names its key and
 * says how to fix it, all problems at once.
 */

import * as z from 'zod/mini';
import type { $ZodIssue } from 'zod/v4/core';
import { ConfigError } from '#base/errors.ts';
import { type ConnectorConfig, configSchema } from './schema.ts';

export interface ConfigProblem {
  /** Dotted path of the key, e.g. `salesforce.myDomain`. */
  readonly key: string;
  readonly message: string;
}

/** Thrown with every problem found; `message` lists them one per line. */
export class ConfigValidationError extends ConfigError {
  override name = 'ConfigValidationError';
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[]) {
    super(
      problems[0]?.key ?? '(root)',
      `invalid configuration:\n${problems.map((p) => `  - ${p.key}: ${p.message}`).join('\n')}`,
    );
    this.problems = problems;
  }
}

function describeIssue(issue: $ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return issue.input === undefined
        ? `is required (expected ${issue.expected})`
        : `expected ${issue.expected}`;
    case 'unrecognized_keys':
      return `unknown key(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}: remove them or check the spelling`;
    default:
      return issue.message;
  }
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** Parses and validates; throws ConfigValidationError listing every problem. */
export function validateConfig(raw: unknown): ConnectorConfig {
  const result = z.safeParse(configSchema, raw);
  if (!result.success) {
    throw new ConfigValidationError(
      result.error.issues.map((issue) => ({
        key: issue.path.length ? issue.path.map(String).join('.') : '(root)',
        message: describeIssue(issue),
      })),
    );
  }
  const config = result.data;
  const problems: ConfigProblem[] = [];
  const entities = new Set(config.legalEntities);
  config.legalEntityRules.forEach((rule, i) => {
    const targets =
      'default' in rule ? [rule.default] : 'billingCountry' in rule ? Object.values(rule.billingCountry) : [];
    for (const t of targets) {
      if (!entities.has(t)) {
        problems.push({
          key: `legalEntityRules.${i}`,
          message: `"${t}" is not in legalEntities (${[...entities].join(', ')})`,
        });
      }
    }
  });
  for (const le of Object.keys(config.customerGroups.byLegalEntity)) {
    if (!entities.has(le))
      problems.push({ key: `customerGroups.byLegalEntity.${le}`, message: 'not in legalEntities' });
  }
  if (problems.length > 0) throw new ConfigValidationError(problems);
  return deepFreeze(config);
}
