#!/usr/bin/env node
/**
 * The CDK app: one ConnectorStack per stage, its configuration read and validated at synth
 * (`-c stage=prod -c config=prod.yaml`), cdk-nag AwsSolutions and Serverless checks on every synth.
 */
import { Annotations, App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { ConnectorStack } from '../lib/connector-stack.ts';
import { acknowledgeNagFindings } from '../lib/nag-suppressions.ts';
import { loadStageConfig, type StageConfig, StageConfigError } from '../lib/stage-config.ts';

const app = new App();
let stageConfig: StageConfig;
try {
  stageConfig = loadStageConfig({
    stage: app.node.tryGetContext('stage'),
    config: app.node.tryGetContext('config'),
  });
} catch (error) {
  if (!(error instanceof StageConfigError)) throw error;
  // A configuration mistake, not a bug: the message names the file and every key; no stack trace.
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
}
const { stage, config, source, network, apiGateway } = stageConfig;
const stackName =
  app.node.tryGetContext('stackName') ??
  (app.node.tryGetContext('stage') ? `MlConnector-${stage}` : 'MlConnector');
const stack = new ConnectorStack(app, stackName, {
  config,
  description: `ml-connector (${stage}): Dynamics 365 F&O <-> Salesforce`,
  tags: { application: 'ml-connector', stage },
  ...(network ? { network } : {}),
  ...(apiGateway ? { apiGatewayCloudWatchRole: apiGateway.cloudWatchRole } : {}),
});
if (source === undefined) {
  Annotations.of(stack).addWarningV2(
    'ml-connector:example-configuration',
    'synthesized with the example configuration (example hosts); deploy with -c stage=<name> -c config=<file>',
  );
}
acknowledgeNagFindings(stack);
Validations.of(app).addPlugins(
  new AwsSolutionsChecks(app, { verbose: true }),
  new ServerlessChecks(app, { verbose: true }),
);
app.synth();
