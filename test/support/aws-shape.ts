/**
 * The AWS shape on moto, as AWS would run it, for the end-to-end and chaos suites:
 * - the stack synthesized for the sandboxes' configuration and its resources created on moto from
 *   the template (aws-template.ts); the credential secrets then onboarded as `credentials set
 *   --stack` does (PutSecretValue), the receiver secret set;
 * - each Lambda function a container of its own: its environment from the template, its own SDK
 *   clients pointed at moto, the handler module's factory (the module's `handler` is the same
 *   factory over `process.env`);
 * - the receiver behind an API Gateway stand-in on loopback (REST proxy events, the template's
 *   method and path), the workers behind event source mappings polling moto
 *   (event-source-mapping.ts), the backfill invoked with the schedule's input as moto's Scheduler
 *   holds it, retried as its retry policy says;
 * - the Fargate stream task (functions/stream/main.ts) as a child process with the task
 *   definition's environment.
 *
 * One clock for the functions (`clock`), advanced when a crashed batch's visibility time-out is
 * compressed, so the leases a crashed worker left run out as they would have.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type {
  APIGatewayProxyEvent,
  APIGatewayProxyResult,
  Context,
  SQSBatchResponse,
  SQSEvent,
} from 'aws-lambda';
import { createAwsRuntime } from '#adapters/aws/bootstrap.ts';
import { ENV } from '#adapters/aws/contract.ts';
import { createEngineRuntime, type EngineRuntime } from '#adapters/aws/engine.ts';
import type { ConnectorMetrics, MetricName } from '#adapters/aws/metrics.ts';
import { createAwsClients } from '#adapters/aws/sdk-clients.ts';
import { createConsoleLogger } from '#adapters/local/console-logger.ts';
import type { Logger } from '#base/logger.ts';
import type { ConnectorConfig } from '#core/config/schema.ts';
import type { SandboxesInfo } from '#sandbox/index.ts';
import { until } from '#test/support/wait.ts';
import { type Deployed, type DeployedFunction, deployTemplate, synthesizeTemplate } from './aws-template.ts';
import {
  createEventSourcePoller,
  type EventSourcePoller,
  type EventSourcePollerOptions,
} from './event-source-mapping.ts';
import { type Moto, startMoto } from './moto.ts';

export interface ShapeClock {
  now(): number;
  /** Moves the functions' clock forward (a compressed wait). */
  advance(ms: number): void;
}

/** Replaces one to-Dynamics invocation; gets the function's runtime to build a handler over it. */
export type ToDynamicsInterceptor = (
  event: SQSEvent,
  context: Context,
  runtime: EngineRuntime,
) => Promise<SQSBatchResponse>;

export interface StreamChild {
  readonly process: ChildProcessWithoutNullStreams;
  readonly output: string[];
  readonly exited: Promise<number | null>;
  healthPort(): number | undefined;
}

export interface AwsShape {
  readonly moto: Moto;
  readonly deployed: Deployed;
  readonly clock: ShapeClock;
  /** The business-event URL (API Gateway stand-in) without the secret. */
  readonly receiverUrl: string;
  readonly pollers: Readonly<Record<'to-salesforce' | 'to-dynamics', EventSourcePoller>>;
  /** Log lines of every function (JSON). */
  readonly logs: string[];
  readonly metrics: { name: MetricName; value: number; dimensions?: Readonly<Record<string, string>> }[];
  readonly sqs: SQSClient;
  /** Routes the to-Dynamics invocations through `interceptor` (undefined: the plain handler again). */
  interceptToDynamics(interceptor: ToDynamicsInterceptor | undefined): void;
  /** Invokes the backfill as the schedule does (its input, or `input` as an operator would set it; its retry policy). */
  runSchedule(input?: Record<string, unknown>): Promise<unknown>;
  /** Sends a message to a queue as another producer would (e.g. a duplicate delivery). */
  send(queueUrl: string, body: unknown): Promise<void>;
  /** Starts the stream task (functions/stream/main.ts) as a child process. */
  startStream(): StreamChild;
  /** How often `idle` compressed a back-off wait. */
  readonly compressedWaits: number;
  /**
   * Resolves once every poller's queue is empty and no invocation runs (bounded). While nothing
   * runs and only backed-off records remain, their wait is compressed: the clock moves on by
   * 15 minutes (SQS's longest back-off the workers set) and they are made visible.
   */
  idle(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export interface AwsShapeOptions {
  readonly config: ConnectorConfig;
  readonly sandboxes: SandboxesInfo;
  readonly receiverSecret: string;
}

/** The workers put a record back for at most 900 s (SQS's ChangeMessageVisibility cap they use). */
const COMPRESSED_WAIT_MS = 900_000;

function capture(lines: string[]): Logger {
  const stream = new PassThrough();
  stream.on('data', (chunk: Buffer) => lines.push(...chunk.toString().split('\n').filter(Boolean)));
  return createConsoleLogger({ level: 'debug', stream });
}

/** Short HTTP back-offs, as the local harness uses (the sandboxes' Retry-After is about a second). */
const HTTP = {
  dynamicsHttp: { retry: { baseDelayMs: 50, maxDelayMs: 1000, throttleFallbackMs: 1000 } },
  salesforceHttp: { retry: { baseDelayMs: 50, maxDelayMs: 1000, throttleFallbackMs: 1000 } },
} as never;

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** An API Gateway REST API stage with a Lambda proxy integration, on loopback. */
async function startApiGateway(
  route: Deployed['api'],
  invoke: (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>,
  context: () => Context,
): Promise<{ url: string; server: Server }> {
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const body = await readBody(req);
    if (req.method !== route.method || url.pathname !== route.path) {
      res
        .writeHead(403, { 'content-type': 'application/json' })
        .end('{"message":"Missing Authentication Token"}');
      return;
    }
    const headers: Record<string, string> = {};
    const multiValueHeaders: Record<string, string[]> = {};
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      const name = req.rawHeaders[i] ?? '';
      const value = req.rawHeaders[i + 1] ?? '';
      headers[name] = value;
      multiValueHeaders[name] = [...(multiValueHeaders[name] ?? []), value];
    }
    const query = Object.fromEntries(url.searchParams);
    const event: APIGatewayProxyEvent = {
      resource: route.path,
      path: route.path,
      httpMethod: route.method,
      headers,
      multiValueHeaders,
      queryStringParameters: Object.keys(query).length > 0 ? query : null,
      multiValueQueryStringParameters:
        Object.keys(query).length > 0
          ? Object.fromEntries([...url.searchParams.keys()].map((k) => [k, url.searchParams.getAll(k)]))
          : null,
      pathParameters: null,
      stageVariables: null,
      requestContext: {
        requestId: randomUUID(),
        httpMethod: route.method,
        path: `/prod${route.path}`,
        stage: 'prod',
        resourcePath: route.path,
      } as APIGatewayProxyEvent['requestContext'],
      // No binary media types on the API: a JSON body arrives as text.
      body: body.length > 0 ? body.toString('utf8') : null,
      isBase64Encoded: false,
    };
    try {
      const result = await invoke(event, context());
      res.writeHead(result.statusCode, result.headers as Record<string, string>).end(result.body);
    } catch {
      // A function error behind a proxy integration: API Gateway answers 502.
      res.writeHead(502, { 'content-type': 'application/json' }).end('{"message":"Internal server error"}');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}${route.path}`, server };
}

function lambdaContext(fn: DeployedFunction): Context {
  const deadline = Date.now() + fn.timeoutSeconds * 1000;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: fn.logicalId,
    functionVersion: '$LATEST',
    invokedFunctionArn: fn.arn,
    memoryLimitInMB: '1024',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${fn.logicalId}`,
    logStreamName: 'moto',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

export async function startAwsShape(options: AwsShapeOptions): Promise<AwsShape> {
  const moto = await startMoto();
  try {
    return await build(moto, options);
  } catch (error) {
    await moto.close();
    throw error;
  }
}

async function build(moto: Moto, options: AwsShapeOptions): Promise<AwsShape> {
  const deployed = await deployTemplate(moto, synthesizeTemplate(options.config));
  let offset = 0;
  const clock: ShapeClock = {
    now: () => Date.now() + offset,
    advance(ms) {
      offset += ms;
    },
  };
  const logs: string[] = [];
  const metrics: AwsShape['metrics'] = [];
  const recorder: ConnectorMetrics = {
    add: (name, value, dimensions) =>
      void metrics.push({ name, value, ...(dimensions ? { dimensions } : {}) }),
    flush() {},
  };

  // Onboarding: the credentials into the secrets the stack created (what `credentials set --stack` writes).
  const receiverFn = deployed.function('receiver');
  const sm = new SecretsManagerClient(moto.clientConfig);
  const { dynamics, salesforce } = options.sandboxes;
  const put = (arn: string | undefined, value: unknown) =>
    sm.send(new PutSecretValueCommand({ SecretId: arn, SecretString: JSON.stringify(value) }));
  await put(receiverFn.environment[ENV.dynamicsSecretArn], {
    clientId: dynamics.clientId,
    clientSecret: dynamics.clientSecret,
  });
  await put(receiverFn.environment[ENV.salesforceSecretArn], {
    clientId: salesforce.clientId,
    clientSecret: salesforce.clientSecret,
  });
  await put(receiverFn.environment[ENV.receiverSecretArn], { current: options.receiverSecret });
  sm.destroy();

  // The handler modules build their own runtime from process.env when Lambda loads them: load them
  // as Lambda would, with a function's environment from the template (the factories they export
  // then build the containers below, with a clock, a log capture and a metrics recorder).
  Object.assign(process.env, receiverFn.environment, moto.env, {
    POWERTOOLS_METRICS_DISABLED: 'true',
    POWERTOOLS_LOG_LEVEL: 'ERROR',
  });
  const [
    { createBusinessEventsHandler },
    { createToSalesforceHandler },
    { createToDynamicsHandler },
    { createBackfillHandler },
  ] = await Promise.all([
    import('#handlers/business-events.ts'),
    import('#handlers/to-salesforce.ts'),
    import('#handlers/to-dynamics.ts'),
    import('#handlers/backfill.ts'),
  ]);

  const containers: { close(): Promise<void> }[] = [];
  const engine = (fn: DeployedFunction): EngineRuntime => {
    const runtime = createEngineRuntime({
      env: fn.environment,
      aws: createAwsClients(moto.clientConfig),
      logger: capture(logs),
      metrics: recorder,
      now: clock.now,
      http: HTTP,
    });
    containers.push(runtime);
    return runtime;
  };

  const receiverRuntime = createAwsRuntime({
    env: receiverFn.environment,
    aws: createAwsClients(moto.clientConfig),
    logger: capture(logs),
    metrics: recorder,
    now: clock.now,
  });
  containers.push(receiverRuntime);
  const receiver = createBusinessEventsHandler(receiverRuntime, { now: clock.now });
  const api = await startApiGateway(deployed.api, receiver, () => lambdaContext(receiverFn));

  const toSalesforceFn = deployed.function('to-salesforce');
  const toDynamicsFn = deployed.function('to-dynamics');
  const backfillFn = deployed.function('backfill');
  const toSalesforce = createToSalesforceHandler(engine(toSalesforceFn));
  const toDynamicsRuntime = engine(toDynamicsFn);
  const toDynamics = createToDynamicsHandler(toDynamicsRuntime);
  const backfill = createBackfillHandler(engine(backfillFn));

  // The chaos suite replaces the to-Dynamics invocation for a while (a worker that dies mid-batch).
  let interceptor: ToDynamicsInterceptor | undefined;
  const toDynamicsInvoke = (event: SQSEvent, context: Context) =>
    interceptor ? interceptor(event, context, toDynamicsRuntime) : toDynamics(event, context);

  const sqs = new SQSClient(moto.clientConfig);
  const poller = (fn: DeployedFunction, invoke: EventSourcePollerOptions['invoke']) => {
    const mapping = deployed.eventSourceMappings.find((m) => m.functionLogicalId === fn.logicalId);
    if (!mapping) throw new Error(`${fn.logicalId} has no event source mapping in the template`);
    return createEventSourcePoller({
      mapping,
      visibilityTimeoutSeconds: deployed.queueByUrl(mapping.queueUrl).visibilityTimeoutSeconds,
      functionName: fn.logicalId,
      functionTimeoutSeconds: fn.timeoutSeconds,
      sqs,
      invoke,
      onVisibilityTimeout: (seconds) => clock.advance(seconds * 1000),
    });
  };
  const pollers = {
    'to-salesforce': poller(toSalesforceFn, (e, c) => toSalesforce(e, c)),
    'to-dynamics': poller(toDynamicsFn, toDynamicsInvoke),
  };
  for (const p of Object.values(pollers)) p.start();

  const children: StreamChild[] = [];
  let compressedWaits = 0;
  return {
    get compressedWaits() {
      return compressedWaits;
    },
    moto,
    deployed,
    clock,
    receiverUrl: api.url,
    pollers,
    logs,
    metrics,
    sqs,
    interceptToDynamics(next) {
      interceptor = next;
    },
    async runSchedule(input) {
      // UNCONFIRMED what Scheduler delivers to a Lambda target without Input; the handler treats
      // anything without `full: true` as an incremental run, so `{}` stands in for it.
      const event =
        input ?? (deployed.schedule.input === undefined ? {} : JSON.parse(deployed.schedule.input));
      let lastError: unknown;
      // The schedule's retry policy: the first try and MaximumRetryAttempts more.
      for (let attempt = 0; attempt <= deployed.schedule.maximumRetryAttempts; attempt++) {
        try {
          return await backfill(event, lambdaContext(backfillFn));
        } catch (error) {
          lastError = error;
        }
      }
      throw lastError;
    },
    async send(queueUrl, body) {
      await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(body) }));
    },
    startStream() {
      const handle = spawnStreamTask({
        ...process.env,
        ...deployed.streamEnvironment,
        // The container's port 8080 would collide on a shared machine: any free port, as HEALTH_PORT allows.
        [ENV.healthPort]: '0',
        [ENV.healthHost]: '127.0.0.1',
        ...moto.env,
        POWERTOOLS_METRICS_DISABLED: 'true',
        POWERTOOLS_LOG_LEVEL: 'INFO',
      });
      children.push(handle);
      return handle;
    },
    async idle(timeoutMs = 60_000) {
      // Two quiet looks in a row: a worker may enqueue for the other queue as it finishes.
      let quiet = 0;
      let waiting = 0;
      let states: Awaited<ReturnType<EventSourcePoller['state']>>[] = [];
      await until(
        'the queues to drain',
        async () => {
          states = await Promise.all(Object.values(pollers).map((p) => p.state()));
          const busy = states.some((s) => s.busy || s.visible > 0);
          const held = states.some((s) => s.inFlight + s.delayed > 0);
          quiet = !busy && !held ? quiet + 1 : 0;
          // Nothing runs and only backed-off records remain: compress their wait (see elapse()),
          // and the leases they wait for with it.
          waiting = !busy && held ? waiting + 1 : 0;
          if (waiting >= 3) {
            waiting = 0;
            clock.advance(COMPRESSED_WAIT_MS);
            compressedWaits++;
            for (const p of Object.values(pollers)) await p.elapse();
          }
          return quiet >= 2;
        },
        { timeoutMs, intervalMs: 200, detail: () => JSON.stringify(states) },
      );
    },
    async close() {
      for (const c of children) if (c.process.exitCode === null) c.process.kill('SIGKILL');
      await Promise.all(Object.values(pollers).map((p) => p.stop()));
      await new Promise<void>((resolve) => {
        api.server.close(() => resolve());
        api.server.closeAllConnections();
      });
      await Promise.allSettled(containers.map((c) => c.close()));
      sqs.destroy();
      await moto.close();
    },
  };
}

/** Runs functions/stream/main.ts as the container would, with `env`; its output is kept line by line. */
export function spawnStreamTask(env: NodeJS.ProcessEnv): StreamChild {
  const child = spawn(process.execPath, ['functions/stream/main.ts'], { cwd: process.cwd(), env });
  const output: string[] = [];
  child.stdout.on('data', (d: Buffer) => output.push(...d.toString().split('\n').filter(Boolean)));
  child.stderr.on('data', (d: Buffer) => output.push(...d.toString().split('\n').filter(Boolean)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    process: child,
    output,
    exited,
    healthPort() {
      for (const line of output) {
        if (!line.includes('stream.started')) continue;
        return Number((JSON.parse(line) as { healthPort: number }).healthPort);
      }
      return undefined;
    },
  };
}

/** Started, and every subscription confirmed by a keepalive (so LATEST is behind us). */
/** The change events the stream task's subscribers have handed to their handlers so far, all topics (from /health). */
export async function streamDelivered(child: StreamChild): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${child.healthPort()}/health`);
  const body = (await res.json()) as { topics: { delivered: number }[] };
  return body.topics.reduce((sum, t) => sum + t.delivered, 0);
}

export async function streamSubscribed(child: StreamChild, timeoutMs = 45_000): Promise<void> {
  await until('the stream task to start', () => child.healthPort() !== undefined, timeoutMs).catch(
    (error: Error) => {
      throw new Error(`${error.message}:\n${child.output.slice(-20).join('\n')}`);
    },
  );
  await until(
    'a keepalive on every topic',
    async () => {
      const res = await fetch(`http://127.0.0.1:${child.healthPort()}/health`);
      const body = (await res.json()) as { topics: { keepalives: number }[] };
      return res.status === 200 && body.topics.every((t) => t.keepalives > 0);
    },
    timeoutMs,
  );
}
