import { RemovalPolicy } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/** Props for {@link BusinessEventsApi}. */
export interface BusinessEventsApiProps {
  /** The business-event receiver. */
  readonly handler: lambda.IFunction;
  /** Encrypts the access log group. */
  readonly key: kms.IKey;
  /** Steady-state requests per second at the stage. @default 50 */
  readonly throttlingRateLimit?: number;
  /** @default 100 */
  readonly throttlingBurstLimit?: number;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Create API Gateway's account-wide CloudWatch Logs role and set it in the region's account
   * settings (the access log needs it: a fresh account fails the stage with "CloudWatch Logs role
   * ARN must be set in account settings"). The role and the setting are retained on delete, since
   * other APIs of the account may rely on them. `false` when the account already has one.
   * @default true
   */
  readonly cloudWatchRole?: boolean;
}

/**
 * The REST API F&O business events are posted to: `POST /business-events`, Lambda proxy to the
 * receiver. The stage throttles, logs every request (JSON access log, KMS) and traces with X-Ray;
 * the body must be JSON (object or array), checked before the receiver runs. API Gateway caps
 * payloads at 10 MB, but a Lambda proxy integration is a synchronous invocation, whose request
 * payload Lambda caps at 6 MB (the event JSON, headers included), so about 6 MB is the real limit;
 * the receiver enforces `businessEvents.maxBodyBytes` (413) below it. The caller is
 * authenticated by the receiver (shared secret in `?code=` or `X-ML-Connector-Secret`).
 */
export class BusinessEventsApi extends Construct {
  public readonly api: apigateway.RestApi;
  public readonly accessLogs: logs.LogGroup;
  /** The URL to configure in F&O (append `?code=<receiver secret>`). */
  public readonly endpointUrl: string;

  constructor(scope: Construct, id: string, props: BusinessEventsApiProps) {
    super(scope, id);
    this.accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      encryptionKey: props.key,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.api = new apigateway.RestApi(this, 'Api', {
      description: 'ml-connector: receives Dynamics 365 F&O business events',
      endpointTypes: [apigateway.EndpointType.REGIONAL],
      cloudWatchRole: props.cloudWatchRole !== false,
      ...(props.cloudWatchRole !== false ? { cloudWatchRoleRemovalPolicy: RemovalPolicy.RETAIN } : {}),
      deployOptions: {
        stageName: 'v1',
        throttlingRateLimit: props.throttlingRateLimit ?? 50,
        throttlingBurstLimit: props.throttlingBurstLimit ?? 100,
        tracingEnabled: true,
        metricsEnabled: true,
        accessLogDestination: new apigateway.LogGroupLogDestination(this.accessLogs),
        accessLogFormat: apigateway.AccessLogFormat.jsonWithStandardFields({
          caller: false,
          httpMethod: true,
          ip: true,
          protocol: true,
          requestTime: true,
          resourcePath: true,
          responseLength: true,
          status: true,
          user: false,
        }),
      },
    });
    const body = this.api.addModel('BusinessEventBody', {
      contentType: 'application/json',
      description: 'A business event (object) or a batch of them (array)',
      schema: {
        schema: apigateway.JsonSchemaVersion.DRAFT4,
        type: [apigateway.JsonSchemaType.OBJECT, apigateway.JsonSchemaType.ARRAY],
      },
    });
    const validator = this.api.addRequestValidator('Validator', {
      validateRequestBody: true,
      validateRequestParameters: true,
    });
    this.api.root
      .addResource('business-events')
      .addMethod('POST', new apigateway.LambdaIntegration(props.handler), {
        requestValidator: validator,
        requestModels: { 'application/json': body },
      });
    this.endpointUrl = this.api.urlForPath('/business-events');
  }
}
