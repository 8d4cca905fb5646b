#!/usr/bin/env node
/** The CDK app. The stack's resources arrive with the AWS-shape issue; for now it synthesizes an empty stack. */
import { App } from 'aws-cdk-lib';
import { ConnectorStack } from '../lib/connector-stack.ts';

const app = new App();
new ConnectorStack(app, app.node.tryGetContext('stackName') ?? 'MlConnector');
app.synth();
