/**
 * `ml-connector credentials set`: stores both client-credential pairs, and a generated
 * business-event secret, encrypted in a file only the user can read. Secrets are read from the
 * terminal without echo (or from stdin lines when piped), never from the command line, where
 * other users could see them in the process list.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createFileSecrets, defaultSecretsPath, writeSecretsFile } from '#adapters/local/secrets-file.ts';
import type { ClientCredentials, ConnectorSecrets } from '#core/ports/secrets.ts';
import { type CliIo, type CommandSpec, ExitCode, UsageError } from './command.ts';
import {
  type CredentialCheck,
  credentialFailures,
  pingCheck,
  writeStackCredentials,
} from './credentials-stack.ts';
import { type DeployedStack, lookUpStack, stackOption, stackOptionHelp } from './stack.ts';

const options = {
  'dynamics-client-id': { type: 'string' },
  'salesforce-client-id': { type: 'string' },
  'rotate-receiver-secret': { type: 'boolean' },
  file: { type: 'string' },
  ...stackOption,
  'skip-check': { type: 'boolean' },
} as const;

/**
 * `credentials set --stack`: check both sets (unless skipped), then write them into the stack's
 * secrets and print the receiver URL when a receiver secret was generated.
 */
export async function setCredentialsOnStack(
  io: CliIo,
  stack: DeployedStack,
  dynamics: ClientCredentials,
  salesforce: ClientCredentials,
  options: { readonly rotate: boolean; readonly skipCheck: boolean; readonly check?: CredentialCheck },
): Promise<ExitCode> {
  if (!options.skipCheck) {
    const report = await (options.check ?? pingCheck)(stack, {
      dynamics,
      salesforce,
      businessEvents: { current: 'unused-by-ping' },
    });
    const failed = credentialFailures(report);
    if (failed.length > 0) {
      io.stderr.write(
        [
          'Nothing was stored: the credentials do not work.',
          ...failed.map((c) => `  ${c.system}: ${c.detail}${c.fix ? `\n    fix: ${c.fix}` : ''}`),
          'Use --skip-check to store them anyway (e.g. before F&O has registered the app).',
          '',
        ].join('\n'),
      );
      return ExitCode.failure;
    }
  }
  const result = await writeStackCredentials({
    secretsManager: new SecretsManagerClient({}),
    stack,
    dynamics,
    salesforce,
    rotateReceiverSecret: options.rotate,
  });
  const lines = [`Stored both credential sets in the secrets of stack ${stack.name}.`];
  if (result.generated) {
    lines.push(
      "The business-event receiver secret, shown once. Store this complete URL as the Azure Key Vault secret of F&O's HTTPS endpoint:",
      `  ${stack.businessEventsUrl}?code=${result.receiver.current}`,
      ...(result.receiver.previous ? ['The previous secret stays valid until the next rotation.'] : []),
    );
  } else {
    lines.push('The business-event receiver secret is unchanged (--rotate-receiver-secret makes a new one).');
  }
  lines.push(`Next: \`ml-connector ping --stack ${stack.name}\`.`, '');
  io.stdout.write(lines.join('\n'));
  return ExitCode.ok;
}

/**
 * Reads answers line by line from stdin. On a terminal it prompts, and readline runs the TTY in
 * raw mode with its echo sent to a muted stream, so what is typed is not shown.
 */
function prompter(io: CliIo, input: NodeJS.ReadableStream & { isTTY?: boolean }) {
  const muted = new Writable({ write: (_chunk, _encoding, done) => done() });
  const rl = createInterface({ input, output: muted, terminal: Boolean(input.isTTY) });
  const lines = rl[Symbol.asyncIterator]();
  return {
    async ask(question: string): Promise<string> {
      if (input.isTTY) io.stderr.write(question);
      const next = await lines.next();
      if (next.done) throw new UsageError(`no answer for "${question.trim()}" on standard input`);
      if (input.isTTY) io.stderr.write('\n');
      return String(next.value).trim();
    },
    close: () => rl.close(),
  };
}

export const credentialsCommand: CommandSpec<typeof options> = {
  name: 'credentials',
  brief: 'store both credential sets, encrypted (or in a deployed stack)',
  summary:
    'credentials set: stores the Dynamics (Entra app) and Salesforce (external client app) client credentials,\n' +
    'encrypted, in a file only you can read, and generates the secret the business-event receiver checks.',
  usage:
    'credentials set --dynamics-client-id <id> --salesforce-client-id <id> [--rotate-receiver-secret] [--stack <name>]',
  optionHelp: [
    ['--dynamics-client-id <id>', 'the Entra application (client) id'],
    ['--salesforce-client-id <id>', "the external client app's consumer key"],
    [
      '--rotate-receiver-secret',
      'make a new business-event secret, keeping the old one valid until the next rotation',
    ],
    ['--file <path>', `the encrypted file (default ${defaultSecretsPath()})`],
    [stackOptionHelp[0], "write into the deployed stack's Secrets Manager secrets instead of the local file"],
    ['--skip-check', 'with --stack: store without first checking the credentials against both systems'],
  ],
  options,
  async run(values, positionals, io) {
    if (positionals[0] !== 'set') throw new UsageError('the only subcommand is `credentials set`');
    const dynamicsId = values['dynamics-client-id'];
    const salesforceId = values['salesforce-client-id'];
    if (!dynamicsId || !salesforceId)
      throw new UsageError('--dynamics-client-id and --salesforce-client-id are required');
    if (values.stack && values.file) throw new UsageError('--stack writes to Secrets Manager: drop --file');
    // Find the stack before asking for secrets, so a wrong name fails before anything is typed.
    const stack = values.stack ? await lookUpStack(values.stack) : undefined;
    const input = process.stdin as NodeJS.ReadableStream & {
      isTTY?: boolean;
      setRawMode?: (on: boolean) => void;
    };
    const ask = prompter(io, input);
    let dynamicsSecret: string;
    let salesforceSecret: string;
    try {
      dynamicsSecret = await ask.ask('Dynamics client secret (input hidden): ');
      salesforceSecret = await ask.ask('Salesforce consumer secret (input hidden): ');
    } finally {
      ask.close();
    }
    if (!dynamicsSecret || !salesforceSecret) throw new UsageError('both client secrets are required');
    if (stack) {
      return setCredentialsOnStack(
        io,
        stack,
        { clientId: dynamicsId, clientSecret: dynamicsSecret },
        { clientId: salesforceId, clientSecret: salesforceSecret },
        { rotate: Boolean(values['rotate-receiver-secret']), skipCheck: Boolean(values['skip-check']) },
      );
    }
    const location = { env: io.env, ...(values.file ? { path: values.file } : {}) };
    const file = values.file ?? defaultSecretsPath(io.env);
    // Keep the receiver secret F&O already uses, unless a rotation is asked for.
    const existing = existsSync(file) ? (await createFileSecrets(location).get()).businessEvents : undefined;
    const fresh = !existing || values['rotate-receiver-secret'];
    const receiver = fresh ? randomBytes(32).toString('base64url') : existing.current;
    const secrets: ConnectorSecrets = {
      dynamics: { clientId: dynamicsId, clientSecret: dynamicsSecret },
      salesforce: { clientId: salesforceId, clientSecret: salesforceSecret },
      businessEvents: { current: receiver, ...(fresh && existing ? { previous: existing.current } : {}) },
    };
    const path = writeSecretsFile(secrets, location);
    const lines = [`Stored the credentials encrypted in ${path} (mode 0600).`];
    if (fresh) {
      lines.push(
        "The business-event receiver secret, shown once; it goes in the receiver URL as ?code=<secret>, the URL F&O's",
        'HTTPS endpoint reads from Azure Key Vault (docs/runbooks/configure-business-events.md):',
        `  ${receiver}`,
        ...(existing ? ['The previous secret stays valid until the next rotation.'] : []),
      );
    }
    lines.push('Next: `ml-connector ping`.', '');
    io.stdout.write(lines.join('\n'));
    return ExitCode.ok;
  },
};
