/**
 * The local shape's HTTP front for the business-event receiver: a node:http server that reads the
 * body (refusing more than the configured limit without buffering it), calls the same receiver
 * function the Lambda calls, and writes its answer.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ReceiverRequest, ReceiverResponse } from '#core/triggers/business-events.ts';

export interface ReceiverServer {
  /** e.g. `http://127.0.0.1:8080/business-events` */
  readonly url: string;
  close(): Promise<void>;
}

export const RECEIVER_PATH = '/business-events';

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | 'too-large'> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) return 'too-large';
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

export async function startReceiverServer(options: {
  readonly receive: (request: ReceiverRequest) => Promise<ReceiverResponse>;
  readonly maxBodyBytes: number;
  readonly host?: string;
  readonly port?: number;
}): Promise<ReceiverServer> {
  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://receiver');
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (url.pathname !== RECEIVER_PATH) return send(404, { status: 'rejected', reason: 'not found' });
    // One byte over the limit is enough to know; the receiver answers 413 with its own reason.
    const body = await readBody(req, options.maxBodyBytes + 1).catch(() => undefined);
    if (body === undefined) return send(400, { status: 'rejected', reason: 'could not read the body' });
    if (body === 'too-large') {
      req.resume();
      return send(413, { status: 'rejected', reason: `body exceeds ${options.maxBodyBytes} bytes` });
    }
    try {
      const answer = await options.receive({
        method: req.method ?? 'GET',
        headers: req.headers,
        query: Object.fromEntries(url.searchParams),
        body,
      });
      send(answer.status, answer.body);
    } catch {
      send(503, { status: 'retry', reason: 'temporarily unavailable' });
    }
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}${RECEIVER_PATH}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
