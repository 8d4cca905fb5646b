/**
 * The Fargate task's health endpoint: `GET /health` answers 200 while every subscriber is
 * connected or reconnecting with back-off, 503 once one has stopped, with a JSON status per
 * topic (never tokens). The container health check and the load balancer, if any, read it.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HealthReport {
  readonly healthy: boolean;
  readonly [detail: string]: unknown;
}

export interface HealthServer {
  readonly port: number;
  close(): Promise<void>;
}

/** Starts the endpoint on `port` (0 = any) of `host` (default all interfaces, for the container). */
export async function startHealthServer(options: {
  readonly port: number;
  readonly host?: string;
  readonly report: () => HealthReport;
}): Promise<HealthServer> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '/').split('?')[0] !== '/health') {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"status":"not found"}');
      return;
    }
    const report = options.report();
    res
      .writeHead(report.healthy ? 200 : 503, { 'content-type': 'application/json' })
      .end(JSON.stringify(report, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)));
  });
  await new Promise<void>((resolve) => server.listen(options.port, options.host ?? '0.0.0.0', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
