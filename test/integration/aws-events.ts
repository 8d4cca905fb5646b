/** Factories of the events AWS hands the Lambda handlers (API Gateway REST proxy, SQS, Scheduler) and a Lambda context. */
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEvent, Context, SQSEvent, SQSRecord } from 'aws-lambda';

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

let seq = 0;

/** One SQS record as Lambda's event source mapping delivers it; `body` is sent as JSON unless a string. */
export function sqsRecordFactory(
  queueArn: string,
  body: unknown,
  overrides: { readonly receiveCount?: number; readonly raw?: boolean } = {},
): SQSRecord {
  const n = ++seq;
  return {
    messageId: `0f6c3b2e-0000-4000-8000-${String(n).padStart(12, '0')}`,
    receiptHandle: `AQEB-receipt-${n}`,
    body: overrides.raw ? String(body) : JSON.stringify(body),
    attributes: {
      ApproximateReceiveCount: String(overrides.receiveCount ?? 1),
      SentTimestamp: String(Date.now()),
      SenderId: 'AROAEXAMPLE',
      ApproximateFirstReceiveTimestamp: String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: 'd41d8cd98f00b204e9800998ecf8427e',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: 'eu-west-1',
  };
}

export const sqsEvent = (...records: SQSRecord[]): SQSEvent => ({ Records: records });

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
