import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { classifyStatus, REPLAY_ID_CORRUPTED } from '#salesforce/pubsub/rpc.ts';

function status(
  code: grpc.status,
  details: string,
  trailers: Record<string, string> = {},
): grpc.StatusObject {
  const metadata = new grpc.Metadata();
  for (const [key, value] of Object.entries(trailers)) metadata.set(key, value);
  return { code, details, metadata };
}

const context = { topic: '/data/AccountChangeEvent', replayId: '00000000000000ff', resuming: true };

describe('Subscribe status classification', () => {
  it('recognises a replay gap by its error-code trailer whatever the status', () => {
    const outcome = classifyStatus(status(grpc.status.UNKNOWN, 'x', { 'error-code': REPLAY_ID_CORRUPTED }), {
      ...context,
      resuming: false,
    });
    expect(outcome.kind).toBe('gap');
  });

  it('recognises a replay gap by INVALID_ARGUMENT about the replay id only while resuming', () => {
    const invalid = status(grpc.status.INVALID_ARGUMENT, 'The Replay ID validation failed.');
    expect(classifyStatus(invalid, context).kind).toBe('gap');
    expect(classifyStatus(invalid, { ...context, resuming: false }).kind).toBe('fatal');
  });

  it('retries transient statuses and a stream the server ended', () => {
    for (const code of [
      grpc.status.OK,
      grpc.status.UNAVAILABLE,
      grpc.status.INTERNAL,
      grpc.status.DEADLINE_EXCEEDED,
    ]) {
      expect(classifyStatus(status(code, 'The service is unavailable. Try again later.'), context).kind).toBe(
        'retry',
      );
    }
  });

  it('asks for re-authentication on UNAUTHENTICATED and gives up on the rest', () => {
    expect(classifyStatus(status(grpc.status.UNAUTHENTICATED, 'Authentication failed.'), context).kind).toBe(
      'auth',
    );
    const denied = classifyStatus(status(grpc.status.PERMISSION_DENIED, 'no', { 'rpc-id': 'r-1' }), context);
    expect(denied.kind === 'fatal' && denied.error).toMatchObject({
      name: 'PubSubError',
      code: 'PUBSUB_ERROR',
      topic: context.topic,
      replayId: context.replayId,
      grpcCode: grpc.status.PERMISSION_DENIED,
      rpcId: 'r-1',
    });
  });
});
