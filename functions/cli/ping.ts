/** `ml-connector ping`: does the configuration fit the real systems? Reads only; prints a fix per problem. */
import { createClients } from '#adapters/clients.ts';
import { createFileSecrets } from '#adapters/local/secrets-file.ts';
import { type CommandSpec, ExitCode } from './command.ts';
import { loadConfigFile } from './config-file.ts';
import { type PingReport, runPing } from './ping-checks.ts';

const options = {
  config: { type: 'string' },
  credentials: { type: 'string' },
  json: { type: 'boolean' },
} as const;

function render(report: PingReport, color: boolean): string {
  const paint = (code: number, text: string) => (color ? `\u001b[${code}m${text}\u001b[0m` : text);
  const lines: string[] = [];
  for (const c of report.checks) {
    lines.push(`${c.ok ? paint(32, 'ok  ') : paint(31, 'FAIL')} ${c.system}: ${c.name}`);
    lines.push(`     ${c.detail}`);
    if (c.fix) lines.push(`     fix: ${c.fix}`);
  }
  lines.push(
    '',
    report.ok ? 'Everything fits.' : `${report.checks.filter((c) => !c.ok).length} problem(s) found.`,
    '',
  );
  return lines.join('\n');
}

export const pingCommand: CommandSpec<typeof options> = {
  name: 'ping',
  summary:
    'Checks the configuration and credentials against your real Dynamics and Salesforce: tokens, the OData\n' +
    'service, legal entities and currencies, External ID fields, Pub/Sub topics and the API allocation.\n' +
    'It writes nothing to either system. Exit code 1 when anything needs fixing.',
  usage: 'ping [--config <file>] [--json]',
  optionHelp: [
    ['--config <file>', 'the configuration file (default ./ml-connector.yaml)'],
    ['--credentials <file>', 'the encrypted credentials file (default: the one `credentials set` writes)'],
    ['--json', 'print the report as JSON'],
  ],
  options,
  async run(values, _positionals, io) {
    const config = loadConfigFile(values.config);
    const secrets = await createFileSecrets({
      env: io.env,
      ...(values.credentials ? { path: values.credentials } : {}),
    }).get();
    const clients = createClients(config, secrets);
    try {
      const report = await runPing(config, clients);
      io.stdout.write(
        values.json
          ? `${JSON.stringify(report)}\n`
          : render(report, Boolean(io.stdout.isTTY) && !io.env.NO_COLOR),
      );
      return report.ok ? ExitCode.ok : ExitCode.failure;
    } finally {
      await clients.close();
    }
  },
};
