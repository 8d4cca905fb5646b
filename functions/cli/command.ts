/**
 * A tiny command framework on node:util parseArgs: every command documents itself (`--help`),
 * bad arguments are usage errors (exit code 2), failures exit 1, success 0.
 */
import { type ParseArgsOptionsConfig, parseArgs } from 'node:util';
import { ConnectorError } from '#base/errors.ts';

export const ExitCode = { ok: 0, failure: 1, usage: 2 } as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export interface CliIo {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
  readonly env: NodeJS.ProcessEnv;
  /** Resolves when the process is asked to stop (SIGINT/SIGTERM). */
  readonly stopSignal: AbortSignal;
}

export interface CommandSpec<O extends ParseArgsOptionsConfig> {
  readonly name: string;
  /** One line for the command list (`ml-connector --help`). */
  readonly brief: string;
  readonly summary: string;
  readonly usage: string;
  /** Option docs, one line each, shown by --help. */
  readonly optionHelp: readonly (readonly [flag: string, description: string])[];
  readonly options: O;
  run(values: ParsedValues<O>, positionals: string[], io: CliIo): Promise<ExitCode>;
}

export type ParsedValues<O extends ParseArgsOptionsConfig> = {
  [K in keyof O]?: O[K]['type'] extends 'boolean' ? boolean : string;
};

/** A user error in the arguments: printed with the command's usage, exit code 2. */
export class UsageError extends ConnectorError {
  override name = 'UsageError';

  constructor(message: string, options?: ErrorOptions) {
    super(message, { ...options, code: 'USAGE', failure: 'permanent' });
  }
}

export function helpText(spec: CommandSpec<ParseArgsOptionsConfig>): string {
  const width = Math.max(10, ...spec.optionHelp.map(([flag]) => flag.length));
  const lines = [`Usage: ml-connector ${spec.usage}`, '', spec.summary, ''];
  if (spec.optionHelp.length > 0) {
    lines.push('Options:');
    for (const [flag, text] of spec.optionHelp) lines.push(`  ${flag.padEnd(width)}  ${text}`);
    lines.push(`  ${'--help'.padEnd(width)}  show this help`);
  }
  return `${lines.join('\n')}\n`;
}

/** Parses and runs one command; turns usage errors into exit code 2 with the help text. */
export async function runCommand<O extends ParseArgsOptionsConfig>(
  spec: CommandSpec<O>,
  args: string[],
  io: CliIo,
): Promise<ExitCode> {
  if (args.includes('--help') || args.includes('-h')) {
    io.stdout.write(helpText(spec as unknown as CommandSpec<ParseArgsOptionsConfig>));
    return ExitCode.ok;
  }
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({
      args,
      options: spec.options,
      allowPositionals: true,
      strict: true,
    }) as typeof parsed;
  } catch (error) {
    io.stderr.write(`ml-connector ${spec.name}: ${(error as Error).message}\n\n`);
    io.stderr.write(helpText(spec as unknown as CommandSpec<ParseArgsOptionsConfig>));
    return ExitCode.usage;
  }
  try {
    return await spec.run(parsed.values as ParsedValues<O>, parsed.positionals, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`ml-connector ${spec.name}: ${error.message}\n\n`);
      io.stderr.write(helpText(spec as unknown as CommandSpec<ParseArgsOptionsConfig>));
      return ExitCode.usage;
    }
    throw error;
  }
}

/** Parses a non-negative integer option, or throws a UsageError naming it. */
export function intOption(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value)) throw new UsageError(`--${name} must be a non-negative integer, got "${value}"`);
  return Number(value);
}
