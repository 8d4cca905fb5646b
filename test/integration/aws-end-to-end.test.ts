import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { DescribeTableCommand, DescribeTimeToLiveCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAwsEnvironment } from '#adapters/aws/bootstrap.ts';
import { ENV, METRICS, TABLE } from '#adapters/aws/contract.ts';
import { type AwsShape, type StreamChild, startAwsShape, streamSubscribed } from '#test/support/aws-shape.ts';
import { type EngineHarness, startEngineHarness } from '#test/support/engine-harness.ts';
import { until } from '#test/support/wait.ts';

const RECEIVER_SECRET = 'aws-e2e-receiver-secret-4b3c2d1e0f9a';

describe('the AWS shape end to end on moto and both sandboxes', () => {
  let h: EngineHarness;
  let shape: AwsShape;
  let stream: StreamChild;
  const sold: { opportunityId?: string } = {};

  beforeAll(async () => {
    h = await startEngineHarness({
      sandboxes: { dynamics: { customers: 240, products: 90, salesOrders: 10 } },
    });
    shape = await startAwsShape({
      config: h.config,
      sandboxes: h.sandboxes.info,
      receiverSecret: RECEIVER_SECRET,
    });
    h.sandboxes.dynamics.control.configureBusinessEvents({
      url: `${shape.receiverUrl}?code=${RECEIVER_SECRET}`,
      retryDelayMs: 50,
    });
    stream = shape.startStream();
    await streamSubscribed(stream);
  }, 120_000);
  afterAll(async () => {
    if (stream && stream.process.exitCode === null) {
      stream.process.kill('SIGTERM');
      await stream.exited;
    }
    await shape?.close();
    await h?.close();
  });

  it('creates the queues, table and secrets the code expects from the synthesized template', async () => {
    const { deployed } = shape;
    for (const role of ['receiver', 'to-salesforce', 'to-dynamics', 'backfill'] as const) {
      expect(() => readAwsEnvironment(deployed.function(role).environment)).not.toThrow();
    }
    expect(() => readAwsEnvironment(deployed.streamEnvironment)).not.toThrow();

    const ddb = new DynamoDBClient(shape.moto.clientConfig);
    const { Table } = await ddb.send(new DescribeTableCommand({ TableName: deployed.tableName }));
    expect(Table?.KeySchema).toEqual([
      { AttributeName: TABLE.partitionKey, KeyType: 'HASH' },
      { AttributeName: TABLE.sortKey, KeyType: 'RANGE' },
    ]);
    for (const index of [TABLE.byRecordIndex, TABLE.byOutcomeIndex]) {
      expect(Table?.GlobalSecondaryIndexes?.find((i) => i.IndexName === index.name)?.KeySchema).toEqual([
        { AttributeName: index.partitionKey, KeyType: 'HASH' },
        { AttributeName: index.sortKey, KeyType: 'RANGE' },
      ]);
    }
    const ttl = await ddb.send(new DescribeTimeToLiveCommand({ TableName: deployed.tableName }));
    expect(ttl.TimeToLiveDescription).toMatchObject({
      AttributeName: TABLE.ttlAttribute,
      TimeToLiveStatus: 'ENABLED',
    });
    ddb.destroy();

    // Each worker queue dead-letters into the DLQ the code sends its refused records to.
    for (const [queue, dlq] of [
      [ENV.toSalesforceQueueUrl, ENV.toSalesforceDlqUrl],
      [ENV.toDynamicsQueueUrl, ENV.toDynamicsDlqUrl],
    ] as const) {
      const env = deployed.function('backfill').environment;
      const { Attributes } = await shape.sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: env[queue], AttributeNames: ['RedrivePolicy'] }),
      );
      const redrive = JSON.parse(Attributes?.RedrivePolicy ?? '{}') as { deadLetterTargetArn?: string };
      expect(redrive.deadLetterTargetArn).toBe(deployed.queueByUrl(env[dlq] ?? '').arn);
    }
    // The workers answer with partial batch responses: the mappings must ask for them.
    expect(deployed.eventSourceMappings.map((m) => m.reportBatchItemFailures)).toEqual([true, true]);

    // Every alarm on a custom metric watches one the code emits, and notifies someone.
    const cw = new CloudWatchClient(shape.moto.clientConfig);
    const { MetricAlarms = [] } = await cw.send(new DescribeAlarmsCommand({}));
    cw.destroy();
    const emitted: readonly string[] = Object.entries(METRICS)
      .filter(([k]) => k !== 'namespace')
      .map(([, v]) => v);
    const custom = MetricAlarms.filter((a) => !a.Namespace?.startsWith('AWS/'));
    expect(custom.length).toBeGreaterThan(0);
    for (const alarm of custom) expect(emitted).toContain(alarm.MetricName);
    for (const alarm of MetricAlarms) expect(alarm.AlarmActions?.[0]).toMatch(/^arn:aws:sns:/);
  });

  it('brings every customer and product of the example business into Salesforce from the scheduled backfill', async () => {
    await shape.runSchedule();
    await shape.idle(90_000);
    const sf = h.sandboxes.salesforce.control;
    const count = (q: string) => sf.query(q).totalSize;
    expect(count('SELECT COUNT() FROM Account WHERE D365_Customer_Key__c != null')).toBe(240);
    expect(count('SELECT COUNT() FROM Product2 WHERE D365_Item_Key__c != null')).toBe(90);
    expect(
      count('SELECT COUNT() FROM PricebookEntry WHERE Pricebook2.IsStandard = true AND IsActive = true'),
    ).toBe(90);
  });

  it('turns a won opportunity with three lines, seen by the stream task, into one Dynamics sales order', async () => {
    const sf = h.sandboxes.salesforce.control;
    const [account] = sf.query(
      "SELECT Id FROM Account WHERE D365_Customer_Key__c = 'usmf:US-000007'",
    ).records;
    const products = sf.query(
      "SELECT Id FROM Product2 WHERE D365_Item_Key__c LIKE 'usmf:%' ORDER BY ProductCode LIMIT 3",
    ).records;
    const opportunity = sf.createOpportunity({
      accountId: String(account?.Id),
      name: 'Three pumps',
      lines: products.map((p, i) => ({ product2Id: String(p.Id), quantity: i + 1 })),
    });
    sf.closeOpportunityWon(opportunity.id);
    sold.opportunityId = opportunity.id;
    const number = await until(
      'the order number on the Opportunity',
      () => sf.get('Opportunity', opportunity.id)?.D365_Sales_Order__c as string | undefined,
      45_000,
    );
    const headers = h.sandboxes.dynamics.control.listRecords('SalesOrderHeadersV2', {
      filter: `CustomersOrderReference eq '${opportunity.id}'`,
    });
    expect(headers).toHaveLength(1);
    expect(headers[0]).toMatchObject({
      SalesOrderNumber: number,
      OrderingCustomerAccountNumber: 'US-000007',
    });
    expect(
      h.sandboxes.dynamics.control.listRecords('SalesOrderLines', {
        filter: `SalesOrderNumber eq '${number}'`,
        company: 'usmf',
      }),
    ).toHaveLength(3);
  });

  it('turns an activated order into a sales order, and a new account into a Dynamics customer with its key', async () => {
    const sf = h.sandboxes.salesforce.control;
    const [account] = sf.query(
      "SELECT Id FROM Account WHERE D365_Customer_Key__c = 'usmf:US-000008'",
    ).records;
    const [product] = sf.query(
      "SELECT Id FROM Product2 WHERE D365_Item_Key__c LIKE 'usmf:%' ORDER BY ProductCode LIMIT 1",
    ).records;
    const order = sf.createOrder({
      accountId: String(account?.Id),
      lines: [{ product2Id: String(product?.Id), quantity: 4 }],
    });
    sf.activateOrder(order.id);
    const newAccount = sf.createAccount({
      Name: 'Nordsee Kompressoren AG',
      BillingCountryCode: 'DE',
      BillingCity: 'Hamburg',
    });
    await until(
      'the order number on the Order',
      () => sf.get('Order', order.id)?.D365_Sales_Order__c,
      45_000,
    );
    const key = await until(
      'the key on the new Account',
      () => sf.get('Account', newAccount)?.D365_Customer_Key__c as string | undefined,
      45_000,
    );
    expect(key).toMatch(/^demf:DE-\d{6}$/);
    expect(
      h.sandboxes.dynamics.control.getRecord('CustomersV3', {
        dataAreaId: 'demf',
        CustomerAccount: key.split(':')[1] ?? '',
      }),
    ).toMatchObject({
      OrganizationName: 'Nordsee Kompressoren AG',
      SalesCurrencyCode: 'EUR',
      IdentificationNumber: newAccount,
    });
  });

  it('carries a Dynamics change announced by a business event through API Gateway to its Account', async () => {
    h.sandboxes.dynamics.control.updateRecord(
      'CustomersV3',
      { dataAreaId: 'gbsi', CustomerAccount: 'GB-000003' },
      { PrimaryContactPhone: '+44 20 7946 0003' },
    );
    await h.sandboxes.dynamics.control.flushBusinessEvents();
    await until(
      'the Account update',
      () => {
        const [a] = h.sandboxes.salesforce.control.query(
          "SELECT Phone FROM Account WHERE D365_Customer_Key__c = 'gbsi:GB-000003'",
        ).records;
        return a?.Phone === '+44 20 7946 0003' ? true : undefined;
      },
      45_000,
    );
    // Through the to-Salesforce event source mapping, batched as the template says (the
    // invocation is recorded once its batch is settled, just after the Account changed).
    await shape.idle();
    const mapping = shape.deployed.eventSourceMappings.find(
      (m) => m.queueUrl === shape.deployed.function('to-salesforce').environment[ENV.toSalesforceQueueUrl],
    );
    const batches = shape.pollers['to-salesforce'].invocations;
    expect(batches.length).toBeGreaterThan(0);
    expect(batches.every((b) => b.records <= (mapping?.batchSize ?? 0) && !b.failed)).toBe(true);
  });

  it('writes nothing to Salesforce and creates nothing in Dynamics when a full backfill runs again', async () => {
    await shape.idle();
    const sf = h.sandboxes.salesforce.control;
    const stamps = () =>
      JSON.stringify(
        ['Account', 'Product2', 'PricebookEntry', 'Opportunity', 'Order'].map(
          (o) => sf.query(`SELECT Id, SystemModstamp FROM ${o} ORDER BY Id`).records,
        ),
      );
    const before = stamps();
    h.sandboxes.dynamics.control.resetCounters();
    await shape.runSchedule({ full: true });
    await shape.idle(90_000);
    expect(stamps()).toBe(before);
    expect(h.sandboxes.dynamics.control.counters()['odata.create'] ?? 0).toBe(0);
    expect(
      h.sandboxes.dynamics.control.listRecords('SalesOrderHeadersV2', {
        filter: `CustomersOrderReference eq '${sold.opportunityId}'`,
      }),
    ).toHaveLength(1);
  });

  it('brings an invoice posted in F&O through API Gateway onto the won Opportunity, and the scheduled poll writes the open order', async () => {
    const sf = h.sandboxes.salesforce.control;
    const opportunityId = String(sold.opportunityId);
    const number = String(sf.get('Opportunity', opportunityId)?.D365_Sales_Order__c);
    const posted = h.sandboxes.dynamics.control.advanceSalesOrder('usmf', number, 'invoice');
    await h.sandboxes.dynamics.control.flushBusinessEvents();
    const won = await until('the invoice on the Opportunity', () => {
      const record = sf.get('Opportunity', opportunityId);
      return record?.D365_Invoice_Number__c ? record : undefined;
    });
    expect(won).toMatchObject({
      D365_Order_Status__c: 'Invoiced',
      D365_Invoice_Number__c: posted.documentNumber,
    });
    await shape.idle();

    // The activated order's sales order is still open: the order-status schedule's poll writes it.
    await shape.runSchedule({ job: 'order-status' });
    const [order] = sf.query(
      'SELECT Id, D365_Order_Status__c FROM Order WHERE D365_Sales_Order__c != null',
    ).records;
    expect(order?.D365_Order_Status__c).toBe('Open');
  });

  it('drains on SIGTERM and resumes from the DynamoDB checkpoint: a deal won while the task was down arrives once', async () => {
    stream.process.kill('SIGTERM');
    expect(await stream.exited).toBe(0);
    const sf = h.sandboxes.salesforce.control;
    const [account] = sf.query(
      "SELECT Id FROM Account WHERE D365_Customer_Key__c = 'demf:DE-000002'",
    ).records;
    const [product] = sf.query(
      "SELECT Id FROM Product2 WHERE D365_Item_Key__c LIKE 'demf:%' ORDER BY ProductCode LIMIT 1",
    ).records;
    const missed = sf.createOpportunity({
      accountId: String(account?.Id),
      name: 'Won while the task was down',
      lines: [{ product2Id: String(product?.Id), quantity: 2 }],
    });
    sf.closeOpportunityWon(missed.id);
    stream = shape.startStream();
    const number = await until(
      'the missed opportunity in Dynamics',
      () => sf.get('Opportunity', missed.id)?.D365_Sales_Order__c,
      45_000,
    );
    expect(
      h.sandboxes.dynamics.control.listRecords('SalesOrderHeadersV2', {
        filter: `CustomersOrderReference eq '${missed.id}'`,
      }),
    ).toEqual([expect.objectContaining({ SalesOrderNumber: number, dataAreaId: 'demf' })]);
  });

  it('keeps client secrets and the receiver secret out of every function and task log line', async () => {
    const { dynamics, salesforce } = h.sandboxes.info;
    const lines = [...shape.logs, ...stream.output];
    expect(shape.logs.length).toBeGreaterThan(0);
    for (const secret of [dynamics.clientSecret, salesforce.clientSecret, RECEIVER_SECRET]) {
      expect(lines.filter((line) => line.includes(secret))).toEqual([]);
    }
    expect(lines.filter((line) => /eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/.test(line))).toEqual([]);
  });
});
