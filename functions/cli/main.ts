/**
 * The `ml-connector` command: dispatches to one command, prints help, maps outcomes to exit
 * codes (0 ok, 1 failure, 2 usage).
 */
import type { ParseArgsOptionsConfig } from 'node:util';
import { ConnectorError } from '#base/errors.ts';
import { VERSION } from '#base/version.ts';
import { auditCommand } from './audit.ts';
import { type CliIo, type CommandSpec, ExitCode, runCommand } from './command.ts';
import { credentialsCommand } from './credentials.ts';
import { dlqCommand } from './dlq.ts';
import { initCommand } from './init.ts';
import { migrateKeysCommand } from './migrate-keys.ts';
import { pingCommand } from './ping.ts';
import { redriveCommand } from './redrive.ts';
import { replayCommand } from './replay.ts';
import { sandboxCommand } from './sandbox.ts';
import { startCommand } from './start.ts';
import { statusCommand } from './status.ts';
import { syncCommand } from './sync.ts';

const commands: readonly CommandSpec<ParseArgsOptionsConfig>[] = [
  startCommand as unknown as CommandSpec<ParseArgsOptionsConfig>,
  sandboxCommand as unknown as CommandSpec<ParseArgsOptionsConfig>,
  initCommand as unknown as CommandSpec<ParseArgsOptionsConfig>,
  credentialsCommand as unknown as CommandSpec<ParseArgsOptionsConfig>,
  pingCommand as unknown as CommandSpec<ParseArgsOptionsConfig>,
  syncCommand as unknown as CommandSpec<ParseArgsOptionsConfig>,
  migrateKeysCommand as unknown as CommandSpec<ParseArgsOptionsConfig>,
  statusCommand as unknown as CommandSpec<ParseArgsOptionsConfig>,
  auditCommand as unknown as CommandSpec<ParseArgsOptionsConfig>,
  replayCommand as unknown as CommandSpec<ParseArgsOptionsConfig>,
  dlqCommand as unknown as CommandSpec<ParseArgsOptionsConfig>,
  redriveCommand as unknown as CommandSpec<ParseArgsOptionsConfig>,
];

function overview(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'Usage: ml-connector <command> [options]',
    '       ml-connector --version',
    '',
    'Connects Dynamics 365 Finance & Operations and Salesforce.',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.brief}`),
    '',
    "Run `ml-connector <command> --help` for a command's options.",
    '',
  ].join('\n');
}

export async function main(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    (name === undefined ? io.stderr : io.stdout).write(overview());
    return name === undefined ? ExitCode.usage : ExitCode.ok;
  }
  if (name === '--version' || name === '-v' || name === 'version') {
    io.stdout.write(`${VERSION}\n`);
    return ExitCode.ok;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    io.stderr.write(`ml-connector: unknown command "${name}"\n\n${overview()}`);
    return ExitCode.usage;
  }
  try {
    return await runCommand(command, rest, io);
  } catch (error) {
    const message =
      error instanceof ConnectorError ? error.message : String((error as Error)?.stack ?? error);
    io.stderr.write(`ml-connector ${name}: ${message}\n`);
    return ExitCode.failure;
  }
}
