/** `ml-connector init`: writes a commented starter configuration (never secrets). */
import { existsSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { type CommandSpec, ExitCode, UsageError } from './command.ts';
import { DEFAULT_CONFIG_FILE } from './config-file.ts';

export const STARTER_CONFIG = `# ml-connector configuration. Every key: docs/CONFIGURATION.md.
# Secrets never go here: run \`ml-connector credentials set\`, then \`ml-connector ping\`.

dynamics:
  # Your F&O environment host; the token audience is https://<this host>.
  environment: contoso.operations.dynamics.com
  # Your Entra tenant id (GUID) or domain; never "common" or "organizations".
  tenantId: contoso.onmicrosoft.com

salesforce:
  # Your org's My Domain URL (Setup > My Domain). login.salesforce.com refuses client credentials.
  myDomain: https://acme.my.salesforce.com
  # Daily API calls the connector leaves for people and other integrations.
  apiReserve: 5000

# The legal entities (dataAreaIds) to sync.
legalEntities: [usmf]

# Which legal entity a Salesforce Account belongs to: the first rule that gives a synced one wins.
legalEntityRules:
  - field: D365_Legal_Entity__c
  - billingCountry: { US: usmf }
  - default: usmf

# The customer group of customers created from Salesforce Accounts.
customerGroups:
  default: "10"

# The Salesforce fields the connector upserts on (create them as Text, External ID, Unique)
# and writes the Dynamics sales order number to.
externalIds:
  account: D365_Customer_Key__c
  product: D365_Item_Key__c
  opportunitySalesOrder: D365_Sales_Order__c
  orderSalesOrder: D365_Sales_Order__c

# The status of customers and products in Salesforce: the Account field that shows a customer's
# hold (create it as Text 20), and the lifecycle states of yours that mean a product is retired.
lifecycle:
  customerHold: { field: D365_Hold_Status__c }
  products: { inactiveStates: [] }

# Turn flows off here.
flows:
  customers: { enabled: true }
  products: { enabled: true }
  wonOpportunities: { enabled: true }
  activatedOrders: { enabled: true }
  accountWriteBack: { enabled: true }

# Dynamics business events the receiver understands: BusinessEventId -> entity and key fields.
# F&O's HTTPS endpoint reads the receiver URL, ?code=<secret> included, from Azure Key Vault.
# Data events of Customers V3 and Released products V2 that arrive through Dataverse are mapped
# by default (businessEvents.dataEvents; check its table and column names in docs/CONFIGURATION.md).
businessEvents:
  events: {}
`;

const options = { config: { type: 'string' }, force: { type: 'boolean' } } as const;

export const initCommand: CommandSpec<typeof options> = {
  name: 'init',
  brief: 'write a commented starter configuration',
  summary: 'Writes a commented starter configuration to fill in (no secrets), then run `ml-connector ping`.',
  usage: 'init [--config <file>] [--force]',
  optionHelp: [
    ['--config <file>', `where to write it (default ./${DEFAULT_CONFIG_FILE})`],
    ['--force', 'overwrite an existing file'],
  ],
  options,
  async run(values, _positionals, io) {
    const file = resolve(values.config ?? DEFAULT_CONFIG_FILE);
    if (existsSync(file) && !values.force)
      throw new UsageError(`${file} exists; pass --force to overwrite it`);
    writeFileSync(file, STARTER_CONFIG, { mode: 0o644 });
    io.stdout.write(
      `Wrote ${file}. Fill it in, run \`ml-connector credentials set\`, then \`ml-connector ping\`.\n`,
    );
    return ExitCode.ok;
  },
};
