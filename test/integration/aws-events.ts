/**
 * Factories of the events AWS hands the Lambda handlers (API Gateway REST proxy, Scheduler) and a
 * Lambda context. SQS events come from real moto deliveries (aws-handlers.test.ts,
 * test/support/event-source-mapping.ts).
 */
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEvent, Context } from 'aws-lambda';

/** A Lambda context with a generous deadline. */
export function lambdaContext(remainingMs = 60_000): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'ml-connector-test',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:ml-connector-test',
    memoryLimitInMB: '512',
    awsRequestId: randomUUID(),
    logGroupName: '/aws/lambda/ml-connector-test',
    logStreamName: 'test',
    getRemainingTimeInMillis: () => remainingMs,
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

/** A REST API (v1) proxy event of a POST. */
export function apiGatewayPost(
  body: string,
  options: {
    readonly headers?: Record<string, string>;
    readonly query?: Record<string, string>;
    readonly base64?: boolean;
  } = {},
): APIGatewayProxyEvent {
  const headers = { 'Content-Type': 'application/json', ...options.headers };
  return {
    resource: '/business-events',
    path: '/business-events',
    httpMethod: 'POST',
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
    queryStringParameters: options.query ?? null,
    multiValueQueryStringParameters: null,
    pathParameters: null,
    stageVariables: null,
    requestContext: {} as APIGatewayProxyEvent['requestContext'],
    body: options.base64 ? Buffer.from(body).toString('base64') : body,
    isBase64Encoded: options.base64 ?? false,
  };
}

/** What EventBridge Scheduler passes a Lambda target: the schedule's Input, as configured. */
export const schedulerEvent = (input: { readonly full?: boolean } = {}) => ({ ...input });
