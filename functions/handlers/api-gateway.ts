/** API Gateway (REST API, Lambda proxy integration) events as the business-event receiver's requests. */
import type { APIGatewayProxyEvent } from 'aws-lambda';
import type { ReceiverRequest } from '#core/triggers/business-events.ts';

/** Maps an API Gateway proxy event to the receiver's request. */
export function toReceiverRequest(event: APIGatewayProxyEvent): ReceiverRequest {
  const headers: Record<string, string | string[] | undefined> = {};
  for (const [name, value] of Object.entries(event.headers ?? {})) headers[name.toLowerCase()] = value;
  for (const [name, values] of Object.entries(event.multiValueHeaders ?? {})) {
    if (values && values.length > 1) headers[name.toLowerCase()] = values;
  }
  const query: Record<string, string | undefined> = { ...(event.queryStringParameters ?? {}) };
  const body = event.body ?? '';
  return {
    method: event.httpMethod,
    headers,
    query,
    body: event.isBase64Encoded ? new Uint8Array(Buffer.from(body, 'base64')) : body,
  };
}
