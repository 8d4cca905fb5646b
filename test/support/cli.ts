/**
 * Running the `ml-connector` command as a user would, against sandboxes started by the test: a
 * configuration file for them and the credentials as ML_CONNECTOR_* environment variables.
 */
import { type ChildProcessWithoutNullStreams, execFile, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { type Sandboxes, type SandboxesOptions, startSandboxes } from '#sandbox/index.ts';

/** The `ml-connector` entry point. */
export const CLI = new URL('../../bin/ml-connector.ts', import.meta.url).pathname;

/** Writes `<dir>/ml-connector.yaml` for the sandboxes' example business, plus `extra` YAML lines. */
export function writeSandboxConfig(dir: string, sandboxes: Sandboxes, extra: readonly string[] = []): string {
  const { dynamics, salesforce } = sandboxes.info;
  const path = join(dir, 'ml-connector.yaml');
  writeFileSync(
    path,
    [
      `dynamics: { environment: "${dynamics.environmentUrl}", tenantId: ${dynamics.tenantId}, authorityHost: "${dynamics.authorityHost}" }`,
      `salesforce: { myDomain: "${salesforce.myDomainUrl}", pubsubEndpoint: "${salesforce.pubsubEndpoint}", apiReserve: 100 }`,
      'legalEntities: [usmf, demf, gbsi]',
      'legalEntityRules: [{ billingCountry: { US: usmf, DE: demf, GB: gbsi } }, { default: usmf }]',
      ...extra,
      '',
    ].join('\n'),
  );
  return path;
}

/** The environment of a child `ml-connector`: the sandboxes' credentials, a private config home. */
export function sandboxCredentialsEnv(dir: string, sandboxes: Sandboxes): NodeJS.ProcessEnv {
  const { dynamics, salesforce } = sandboxes.info;
  return {
    ...process.env,
    XDG_CONFIG_HOME: dir,
    CI: 'true',
    ML_CONNECTOR_DYNAMICS_CLIENT_ID: dynamics.clientId,
    ML_CONNECTOR_DYNAMICS_CLIENT_SECRET: dynamics.clientSecret,
    ML_CONNECTOR_SALESFORCE_CLIENT_ID: salesforce.clientId,
    ML_CONNECTOR_SALESFORCE_CLIENT_SECRET: salesforce.clientSecret,
    ML_CONNECTOR_BUSINESS_EVENT_SECRET: 'cli-test-receiver-secret',
  };
}

/** Where a CLI test runs `ml-connector`: the sandboxes, a working directory, the credentials' environment. */
export interface CliWorkspace {
  readonly sandboxes: Sandboxes;
  readonly dir: string;
  readonly env: NodeJS.ProcessEnv;
}

/**
 * Registers the block's hooks (call it inside `describe`): before all, the sandboxes sized by
 * `options`, a new temporary directory named `<prefix>…` and the credentials' environment for it,
 * handed to `started`; after all, the sandboxes closed and the directory removed.
 */
export function useCliWorkspace(
  prefix: string,
  options: SandboxesOptions,
  started: (workspace: CliWorkspace) => void,
): void {
  let sandboxes: Sandboxes | undefined;
  let dir: string | undefined;
  beforeAll(async () => {
    sandboxes = await startSandboxes(options);
    dir = mkdtempSync(join(tmpdir(), prefix));
    started({ sandboxes, dir, env: sandboxCredentialsEnv(dir, sandboxes) });
  });
  afterAll(async () => {
    await sandboxes?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
}

/** How a finished `ml-connector` run ended: its exit code and what it printed. */
export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `ml-connector <args>` in `workspace.dir` with its environment to the end (killed after 60 s). */
export function runCli(
  workspace: Pick<CliWorkspace, 'dir' | 'env'>,
  args: readonly string[],
): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { cwd: workspace.dir, env: workspace.env, timeout: 60_000 },
      (error, stdout, stderr) =>
        resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** A running `ml-connector` child: its output so far and waits on what it prints and on its exit. */
export interface CliChild {
  readonly child: ChildProcessWithoutNullStreams;
  /** Everything printed on stdout so far. */
  stdout(): string;
  /** Everything printed on stderr so far. */
  stderr(): string;
  /** Resolves once stdout contains `text`; rejects if the process exits first or after `timeoutMs`. */
  printed(text: string | RegExp, timeoutMs?: number): Promise<void>;
  /** Resolves with the exit code (or the signal's name); rejects after `timeoutMs`. */
  exit(timeoutMs?: number): Promise<number | NodeJS.Signals>;
}

/** Starts `ml-connector <args>` in `cwd` with `env`, as a user's shell would. */
export function spawnCli(
  args: readonly string[],
  options: { cwd: string; env: NodeJS.ProcessEnv },
): CliChild {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: options.cwd, env: options.env });
  let out = '';
  let err = '';
  let exitedWith: number | NodeJS.Signals | undefined;
  const exited = new Promise<number | NodeJS.Signals>((resolve) => {
    child.on('exit', (code, signal) => {
      exitedWith = code ?? signal ?? 'SIGKILL';
      resolve(exitedWith);
    });
  });
  const output = new EventEmitter();
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    output.emit('data');
  });
  child.stderr.on('data', (chunk: Buffer) => {
    err += chunk.toString();
  });
  const seen = (text: string | RegExp) => (typeof text === 'string' ? out.includes(text) : text.test(out));
  const detail = () => `stdout:\n${out}\nstderr (last 2000 characters):\n${err.slice(-2000)}`;
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    printed(text, timeoutMs = 60_000) {
      return new Promise<void>((resolve, reject) => {
        const settle = (error?: Error) => {
          clearTimeout(timer);
          output.off('data', check);
          child.off('exit', early);
          if (error) reject(error);
          else resolve();
        };
        const check = () => {
          if (seen(text)) settle();
        };
        const early = () =>
          settle(new Error(`ml-connector exited (${exitedWith}) before printing ${text}\n${detail()}`));
        const timer = setTimeout(
          () => settle(new Error(`timed out after ${timeoutMs} ms waiting for ${text}\n${detail()}`)),
          timeoutMs,
        );
        output.on('data', check);
        child.on('exit', early);
        check();
        if (exitedWith !== undefined && !seen(text)) early();
      });
    },
    async exit(timeoutMs = 60_000) {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`ml-connector did not exit within ${timeoutMs} ms\n${detail()}`)),
          timeoutMs,
        );
      });
      try {
        return await Promise.race([exited, late]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
