/** `ml-connector audit <record key or audit id>`: the history of one record across both systems. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { AuditEntry, StateStore } from '#core/ports/state-store.ts';
import { type CommandSpec, ExitCode, UsageError } from './command.ts';
import { openLocalState, stateOptionHelp, stateOptions } from './local-engine.ts';
import { deployedStatePorts, lookUpStack, stackOption, stackOptionHelp } from './stack.ts';

const options = { ...stateOptions, ...stackOption, json: { type: 'boolean' } } as const;

const AUDIT_ID = /^[0-9a-f]{20}$/;

/** The record keys a short form could mean: a Salesforce id, or a Dynamics `<dataAreaId>:<id>`. */
function candidates(arg: string): string[] {
  if (arg.startsWith('dynamics:') || arg.startsWith('salesforce:')) return [arg];
  const out = ['Account', 'Opportunity', 'Order'].map((o) => `salesforce:${o}:${arg}`);
  const [company, ...rest] = arg.split(':');
  if (rest.length > 0) {
    for (const entity of ['CustomersV3', 'ReleasedProductsV2'])
      out.push(`dynamics:${entity}:${company?.toLowerCase()}:${rest.join(':')}`);
  }
  return out;
}

export async function findHistory(state: StateStore, arg: string): Promise<AuditEntry[]> {
  if (AUDIT_ID.test(arg)) {
    const entry = await state.getAudit(arg);
    return entry ? state.queryAudit({ recordKey: entry.recordKey, limit: 1000 }) : [];
  }
  for (const key of candidates(arg)) {
    const history = await state.queryAudit({ recordKey: key, limit: 1000 });
    if (history.length > 0) return history;
  }
  return [];
}

export const auditCommand: CommandSpec<typeof options> = {
  name: 'audit',
  brief: 'the history of one record across both systems',
  summary:
    'Shows the history of one record: every trigger, attempt and outcome, the ids in the other system,\n' +
    'and errors. Give an audit id, a record key (salesforce:Opportunity:006…, dynamics:CustomersV3:usmf:US-001),\n' +
    'a Salesforce id, or a Dynamics <dataAreaId>:<key>.',
  usage: 'audit <audit id | record key> [--json]',
  optionHelp: [['--json', 'machine-readable output'], ...stateOptionHelp, stackOptionHelp],
  options,
  async run(values, positionals, io) {
    const [arg] = positionals;
    if (!arg || positionals.length > 1) throw new UsageError('give exactly one audit id or record key');
    let state: StateStore;
    let close = () => {};
    if (values.stack) {
      const stack = await lookUpStack(values.stack);
      state = deployedStatePorts(stack, { dynamodb: new DynamoDBClient({}), sqs: new SQSClient({}) }).state;
    } else {
      const local = openLocalState(values.state);
      state = local.state;
      close = () => local.close();
    }
    try {
      const history = (await findHistory(state, arg)).reverse();
      if (values.json) {
        io.stdout.write(`${JSON.stringify(history)}\n`);
      } else if (history.length === 0) {
        io.stdout.write(`No audit entries for ${arg}.\n`);
      } else {
        io.stdout.write(`${history[0]?.recordKey}\n`);
        for (const e of history) {
          const targets = e.targetIds
            ? ` → ${Object.entries(e.targetIds)
                .map(([k, v]) => `${k} ${v}`)
                .join(', ')}`
            : '';
          const took = e.durationMs !== undefined ? ` in ${e.durationMs} ms` : '';
          io.stdout.write(
            `  ${new Date(e.at).toISOString()} ${e.flow} via ${e.trigger}, attempt ${e.attempt}: ${e.outcome}${took}${targets}${e.error ? ` (${e.error})` : ''}  [${e.auditId}]\n`,
          );
        }
      }
      return history.length > 0 ? ExitCode.ok : ExitCode.failure;
    } finally {
      close();
    }
  },
};
