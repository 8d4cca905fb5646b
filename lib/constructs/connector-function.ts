import { join } from 'node:path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import {
  BUNDLE_BANNER,
  BUNDLE_DEFINE,
  BUNDLE_EXTERNALS,
  BUNDLE_LEGAL_COMMENTS,
  BUNDLE_MAIN_FIELDS,
  BUNDLE_TARGET,
} from '../bundling.ts';

/** Where the project root is (the Lambda entry paths in contract.ts are relative to it). */
export const PROJECT_ROOT = join(import.meta.dirname, '..', '..');

/** Props for {@link ConnectorFunction}. */
export interface ConnectorFunctionProps {
  /** The handler's entry file, relative to the project root (from `ENTRY_POINTS`). */
  readonly entry: string;
  readonly description: string;
  /** Encrypts the log group. */
  readonly key: kms.IKey;
  /** @default 512 */
  readonly memorySize?: number;
  /** @default Duration.seconds(30) */
  readonly timeout?: Duration;
  /** @default {} */
  readonly environment?: Readonly<Record<string, string>>;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Bundle the entry with esbuild. `false` deploys a stub handler instead: for infra tests only,
   * which assert the template, not the code.
   * @default true
   */
  readonly bundle?: boolean;
}

/**
 * A connector Lambda with the house defaults: ARM64, Node.js 24, explicit memory and timeout,
 * X-Ray active tracing, its own KMS-encrypted log group with retention, ESM bundle with source maps.
 */
export class ConnectorFunction extends Construct {
  public readonly function: lambda.Function;
  public readonly logGroup: logs.LogGroup;
  /** The execution role: writes to its own log group only (no AWS managed policy); grants add the rest. */
  public readonly role: iam.Role;
  public readonly timeout: Duration;

  constructor(scope: Construct, id: string, props: ConnectorFunctionProps) {
    super(scope, id);
    this.timeout = props.timeout ?? Duration.seconds(30);
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      encryptionKey: props.key,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: props.description,
    });
    this.logGroup.grantWrite(this.role);
    const common: lambda.FunctionOptions = {
      role: this.role,
      description: props.description,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: this.timeout,
      tracing: lambda.Tracing.ACTIVE,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      environment: { NODE_OPTIONS: '--enable-source-maps', ...props.environment },
    };
    if (props.bundle === false) {
      this.function = new lambda.Function(this, 'Function', {
        ...common,
        runtime: lambda.Runtime.NODEJS_24_X,
        handler: 'index.handler',
        code: lambda.Code.fromInline('exports.handler = async () => { throw new Error("stub"); };'),
      });
      return;
    }
    this.function = new NodejsFunction(this, 'Function', {
      ...common,
      runtime: lambda.Runtime.NODEJS_24_X,
      entry: join(PROJECT_ROOT, props.entry),
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
      awsSdkConnectionReuse: false,
      bundling: {
        forceDockerBundling: false,
        format: OutputFormat.ESM,
        target: BUNDLE_TARGET,
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        mainFields: [...BUNDLE_MAIN_FIELDS],
        banner: BUNDLE_BANNER,
        define: { ...BUNDLE_DEFINE },
        esbuildArgs: { '--legal-comments': BUNDLE_LEGAL_COMMENTS },
        // The AWS SDK is bundled (tree-shaken), not taken from the runtime; see lib/bundling.ts.
        externalModules: [...BUNDLE_EXTERNALS],
        metafile: false,
      },
    });
  }
}
