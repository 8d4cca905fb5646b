/**
 * `ml-connector migrate-keys`: moves External ID values written without a legal entity (`US-001`,
 * the format earlier versions used while one legal entity was synced) to `<legal entity>:<id>`,
 * so adding a legal entity never makes the connector create every Account and Product2 again.
 * Idempotent and resumable (it only ever reads what is left to move); `--dry-run` writes nothing.
 * It needs only the configuration and the Salesforce credentials: no start-up check, no state
 * (the state's keys always carried the legal entity; see functions/core/engine/key-format.ts).
 */
import { createClients } from '#adapters/clients.ts';
import { createFileSecrets } from '#adapters/local/secrets-file.ts';
import { type KeyMigrationResult, migrateExternalIds } from '#core/engine/key-format.ts';
import { type CommandSpec, ExitCode } from './command.ts';
import { loadConfigFile } from './config-file.ts';
import { cliLogger, stateOptionHelp, stateOptions } from './local-engine.ts';

const options = {
  ...stateOptions,
  'legal-entity': { type: 'string' },
  'dry-run': { type: 'boolean' },
  json: { type: 'boolean' },
} as const;

function describe(r: KeyMigrationResult, dryRun: boolean): string[] {
  const lines = [
    `${r.sobject}.${r.field}: ${r.found} without a legal entity, ${dryRun ? 'would move' : 'moved'} ${dryRun ? r.found - r.conflicts.length : r.migrated}`,
  ];
  for (const e of r.examples) lines.push(`  ${e.from} → ${e.to}`);
  for (const c of r.conflicts)
    lines.push(
      `  left ${c.id} (${c.value}): ${c.heldBy} already holds the prefixed value; merge the two records`,
    );
  for (const f of r.failed) lines.push(`  refused ${f.id}: ${f.reason}`);
  return lines;
}

export const migrateKeysCommand: CommandSpec<typeof options> = {
  name: 'migrate-keys',
  brief: 'move External IDs without a legal entity to <legal entity>:<id>',
  summary:
    'Rewrites Account and Product2 External IDs written without a legal entity (US-001) to the\n' +
    'stable form usmf:US-001, in place, 200 per call. Safe to run again: it only reads what is left.\n' +
    'A value whose new form another record already holds is left and reported (merge those records).',
  usage: 'migrate-keys [--legal-entity <id>] [--dry-run] [--json]',
  optionHelp: [
    ['--legal-entity <id>', 'the legal entity the old values belong to (default: the only synced one)'],
    ['--dry-run', 'report what would change, write nothing'],
    ['--json', 'print the result as JSON'],
    ...stateOptionHelp,
  ],
  options,
  async run(values, _positionals, io) {
    const config = loadConfigFile(values.config);
    const secrets = createFileSecrets({ env: io.env });
    const logger = cliLogger(io, values['log-level']);
    const clients = createClients(config, await secrets.credentials(), { logger });
    try {
      const dryRun = values['dry-run'] === true;
      const results = await migrateExternalIds(
        { config, salesforce: clients.salesforce, logger },
        { legalEntity: values['legal-entity'], dryRun },
      );
      if (values.json) io.stdout.write(`${JSON.stringify({ dryRun, results })}\n`);
      else io.stdout.write(`${results.flatMap((r) => describe(r, dryRun)).join('\n')}\n`);
      return results.some((r) => r.failed.length > 0 || r.conflicts.length > 0)
        ? ExitCode.failure
        : ExitCode.ok;
    } finally {
      await clients.close();
    }
  },
};
