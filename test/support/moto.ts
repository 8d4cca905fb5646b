/**
 * moto_server (https://docs.getmoto.org/en/latest/docs/server_mode.html), the AWS emulator of
 * the AWS-shape tests: one per test file, on 127.0.0.1 and a port the OS picks. The server is
 * bounded twice: it exits when the test process that started it goes away, and after `lifetimeMs`
 * whatever happens. `close()` stops it; the process's `exit` kills it too.
 *
 * Where moto is not installed, `startMoto` fails with a message saying how to install it: the
 * AWS-shape suites never pass silently without their emulator.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import type { AwsClientOverrides } from '#adapters/aws/sdk-clients.ts';

/** Region and dummy credentials of every client pointed at the emulator (moto accepts any). */
export const MOTO_AWS = {
  region: 'eu-west-1',
  credentials: { accessKeyId: 'AKIDMOTOLOCAL', secretAccessKey: 'moto-local' },
} as const;

/** moto's default account id (resources it creates carry it in their ARNs). */
export const MOTO_ACCOUNT = '123456789012';

export const MOTO_INSTALL_HINT =
  "moto_server is not available: install the AWS emulator with `python3 -m pip install 'moto[server]>=5.2,<5.3'` (CI has it)";

/** moto is missing or would not start. */
export class MotoUnavailableError extends Error {
  override name = 'MotoUnavailableError';
}

export interface Moto {
  /** The server's process id. */
  readonly pid: number;
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  /** Settings for an AWS SDK v3 client (region, credentials, endpoint). */
  readonly clientConfig: AwsClientOverrides & { readonly endpoint: string };
  /** Environment variables pointing a child process's SDK clients at the emulator. */
  readonly env: Readonly<Record<string, string>>;
  /** Forgets every resource (moto's reset API). */
  reset(): Promise<void>;
  close(): Promise<void>;
}

export interface MotoOptions {
  /** How long to wait for the server to listen. Default 20 s. */
  readonly startTimeoutMs?: number;
  /** The server exits after this long, whatever happens. Default 10 min. */
  readonly lifetimeMs?: number;
  /** The Python interpreter. Default `MOTO_PYTHON` or `python3`. */
  readonly python?: string;
  /** Interpreter flags before the script (the harness's own test hides site-packages with `-S`). */
  readonly pythonFlags?: readonly string[];
}

/**
 * Runs moto's own server entry (moto.server.main, what `moto_server` runs) under a watchdog
 * thread: exit when the parent process is gone or the lifetime is over.
 */
const BOOT = `
import os, sys, threading, time
parent, deadline = os.getppid(), time.time() + float(sys.argv[1])
def watch():
    while os.getppid() == parent and time.time() < deadline:
        time.sleep(0.5)
    os._exit(0)
threading.Thread(target=watch, daemon=True).start()
try:
    from moto.server import main
except ImportError as error:
    print("MOTO-MISSING:", error, file=sys.stderr, flush=True)
    sys.exit(3)
main(["-H", "127.0.0.1", "-p", "0"])
`;

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Starts moto_server and waits until it answers. */
export async function startMoto(options: MotoOptions = {}): Promise<Moto> {
  const python = options.python ?? process.env.MOTO_PYTHON ?? 'python3';
  const lifetimeS = (options.lifetimeMs ?? 10 * 60_000) / 1000;
  const child = spawn(python, [...(options.pythonFlags ?? []), '-u', '-c', BOOT, String(lifetimeS)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PYTHONUNBUFFERED: '1' },
  });
  running.add(child);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const c of running) c.kill('SIGKILL');
    });
  }
  const output: string[] = [];
  const endpoint = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => fail(`moto_server did not start within ${options.startTimeoutMs ?? 20_000} ms`),
      options.startTimeoutMs ?? 20_000,
    );
    function fail(message: string) {
      clearTimeout(timer);
      child.kill('SIGKILL');
      running.delete(child);
      reject(new MotoUnavailableError(`${message}\n${output.join('').slice(-2000)}`));
    }
    const scan = (chunk: Buffer) => {
      output.push(chunk.toString());
      const text = output.join('');
      if (text.includes('MOTO-MISSING')) return fail(MOTO_INSTALL_HINT);
      const match = /Running on (http:\/\/127\.0\.0\.1:\d+)/.exec(text);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout?.on('data', scan);
    child.stderr?.on('data', scan);
    child.once('error', (error: NodeJS.ErrnoException) =>
      fail(error.code === 'ENOENT' ? `${python} not found. ${MOTO_INSTALL_HINT}` : String(error)),
    );
    child.once('exit', (code) => fail(`moto_server exited with ${code} before it listened`));
  });
  // Keep draining its request log so the pipe never fills.
  child.stdout?.removeAllListeners('data');
  child.stderr?.removeAllListeners('data');
  child.stdout?.resume();
  child.stderr?.resume();
  child.removeAllListeners('exit');

  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    pid: child.pid ?? 0,
    endpoint,
    clientConfig: { ...MOTO_AWS, endpoint },
    env: {
      AWS_REGION: MOTO_AWS.region,
      AWS_ACCESS_KEY_ID: MOTO_AWS.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: MOTO_AWS.credentials.secretAccessKey,
      AWS_ENDPOINT_URL: endpoint,
    },
    async reset() {
      const res = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
      if (!res.ok) throw new Error(`moto reset answered ${res.status}`);
    },
    async close() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 3000);
        await exited;
        clearTimeout(killer);
      }
      running.delete(child);
    },
  };
}
