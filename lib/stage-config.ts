/**
 * Stage configuration for the CDK app: the same schema and validation as the local file
 * (`functions/core/config`), read at synth from `-c config=<file>` (or `config/<stage>.yaml`
 * for `-c stage=<name>`). Errors name the file and every bad key, and stop the synth.
 *
 * Two keys exist only in a stage file (they shape the deployment, not the connector, and are
 * removed before the connector's schema sees the rest): `network` (an existing VPC and private
 * subnets for the stream task) and `apiGateway` (whether the stack sets API Gateway's account-wide
 * CloudWatch Logs role). docs/CONFIGURATION.md, "Stage-only keys".
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { parseConfig } from '#core/config/parse.ts';
import type { ConnectorConfig } from '#core/config/schema.ts';
import { validateConfig } from '#core/config/validate.ts';

/** A stage configuration problem at synth: the message names the file and the keys. */
export class StageConfigError extends Error {
  override name = 'StageConfigError';
}

/** The configuration synthesized when no stage is named: valid, but pointing at example hosts. */
export const EXAMPLE_STAGE_CONFIG: ConnectorConfig = validateConfig({
  dynamics: { environment: 'contoso.operations.dynamics.com', tenantId: 'contoso.onmicrosoft.com' },
  salesforce: { myDomain: 'https://contoso.my.salesforce.com' },
  legalEntities: ['usmf'],
  legalEntityRules: [{ default: 'usmf' }],
});

/** An existing VPC for the stream task: its private subnets reach the internet through the customer's NAT or VPC endpoints. */
export interface StageNetwork {
  /** `vpc-` followed by 8 or 17 hex digits. */
  readonly vpcId: string;
  /** One or more `subnet-…` ids in that VPC (two, in different zones, for availability). */
  readonly privateSubnetIds: readonly string[];
}

/** API Gateway settings of a stage. */
export interface StageApiGateway {
  /**
   * Create the account's API Gateway CloudWatch Logs role (retained on delete) and set it as the
   * region's account setting, which access logging needs. `false` when the account already has
   * one (e.g. set by a landing zone), so the stack does not take over an account-wide setting.
   * @default true
   */
  readonly cloudWatchRole: boolean;
}

export interface StageConfig {
  /** The stage name (`-c stage=`), default `dev`. */
  readonly stage: string;
  readonly config: ConnectorConfig;
  /** The file read, or undefined when the example configuration was used. */
  readonly source: string | undefined;
  /** The existing network, or undefined for the stack's own VPC (the default). */
  readonly network?: StageNetwork | undefined;
  /** Undefined: the defaults. */
  readonly apiGateway?: StageApiGateway | undefined;
}

const VPC_ID = /^vpc-([0-9a-f]{8}|[0-9a-f]{17})$/;
const SUBNET_ID = /^subnet-([0-9a-f]{8}|[0-9a-f]{17})$/;

/** Validates the stage-only `network` key; every problem is named. */
export function parseStageNetwork(value: unknown): StageNetwork {
  const problems: string[] = [];
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw new StageConfigError('network: must be an object { vpcId, privateSubnetIds }');
  }
  const { vpcId, privateSubnetIds, ...rest } = value as Record<string, unknown>;
  for (const key of Object.keys(rest)) problems.push(`network.${key}: unknown key (vpcId, privateSubnetIds)`);
  if (typeof vpcId !== 'string' || !VPC_ID.test(vpcId)) {
    problems.push(
      `network.vpcId: expected a VPC id such as vpc-0123456789abcdef0, not ${JSON.stringify(vpcId)}`,
    );
  }
  const subnets = Array.isArray(privateSubnetIds) ? privateSubnetIds : [];
  if (!Array.isArray(privateSubnetIds) || subnets.length === 0) {
    problems.push('network.privateSubnetIds: expected a list of one or more subnet ids (subnet-…)');
  }
  subnets.forEach((id, i) => {
    if (typeof id !== 'string' || !SUBNET_ID.test(id)) {
      problems.push(
        `network.privateSubnetIds[${i}]: expected a subnet id such as subnet-0123456789abcdef0, not ${JSON.stringify(id)}`,
      );
    }
  });
  if (new Set(subnets).size !== subnets.length)
    problems.push('network.privateSubnetIds: lists a subnet twice');
  if (problems.length > 0) throw new StageConfigError(problems.join('; '));
  return { vpcId: vpcId as string, privateSubnetIds: subnets as string[] };
}

/** Validates the stage-only `apiGateway` key. */
export function parseStageApiGateway(value: unknown): StageApiGateway {
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw new StageConfigError('apiGateway: must be an object { cloudWatchRole: true | false }');
  }
  const { cloudWatchRole, ...rest } = value as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0)
    throw new StageConfigError(`apiGateway.${unknown[0]}: unknown key (cloudWatchRole)`);
  if (cloudWatchRole !== undefined && typeof cloudWatchRole !== 'boolean') {
    throw new StageConfigError('apiGateway.cloudWatchRole: expected true or false');
  }
  return { cloudWatchRole: cloudWatchRole !== false };
}

/**
 * The TCP port of a Pub/Sub endpoint `host:port` (`[v6]:port`); 443 when it names none, as gRPC
 * assumes for a TLS target. The stream task's security group lets exactly this port out.
 */
export function pubsubPort(endpoint: string): number {
  const match = /:(\d+)$/.exec(endpoint.trim());
  if (!match) return 443;
  const port = Number(match[1]);
  if (!(Number.isInteger(port) && port > 0 && port < 65_536)) {
    throw new StageConfigError(`salesforce.pubsubEndpoint: "${endpoint}" names no valid TCP port`);
  }
  return port;
}

/** Reads the stage configuration from CDK context values (`stage`, `config`). */
export function loadStageConfig(context: {
  readonly stage?: unknown;
  readonly config?: unknown;
  readonly cwd?: string;
}): StageConfig {
  const stage = typeof context.stage === 'string' && context.stage ? context.stage : 'dev';
  if (!/^[A-Za-z][A-Za-z0-9-]{0,31}$/.test(stage)) {
    throw new StageConfigError(`stage "${stage}": use letters, digits and hyphens, starting with a letter`);
  }
  const named =
    typeof context.config === 'string' && context.config
      ? context.config
      : context.stage
        ? `config/${stage}.yaml`
        : undefined;
  if (named === undefined) return { stage, config: EXAMPLE_STAGE_CONFIG, source: undefined };
  const file = resolve(context.cwd ?? process.cwd(), named);
  if (!existsSync(file)) {
    throw new StageConfigError(
      `stage "${stage}": no configuration at ${file}; pass -c config=<file> (the same schema as ml-connector.yaml)`,
    );
  }
  const text = readFileSync(file, 'utf8');
  try {
    const doc = parseDocument(text, { uniqueKeys: true });
    const raw: unknown = doc.errors.length === 0 ? doc.toJS() : undefined;
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
      // Syntax errors (with their line) and non-objects: as the connector's own parser words them.
      return { stage, config: parseConfig(text, file), source: file };
    }
    const { network, apiGateway, ...rest } = raw as Record<string, unknown>;
    return {
      stage,
      config: parseConfig(JSON.stringify(rest), file),
      source: file,
      network: network === undefined ? undefined : parseStageNetwork(network),
      apiGateway: apiGateway === undefined ? undefined : parseStageApiGateway(apiGateway),
    };
  } catch (error) {
    throw new StageConfigError(`stage "${stage}" (${file}): ${(error as Error).message}`, { cause: error });
  }
}
