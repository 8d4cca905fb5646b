import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type BusinessEvent,
  type DynamicsSandbox,
  type RemoteExecutionContext,
  startDynamicsSandbox,
} from '#sandbox/dynamics/index.ts';
import { sandboxHttp } from '#test/support/dynamics-sandbox-http.ts';

let sandbox: DynamicsSandbox;
let receiver: Server;
let receiverUrl: string;
const received: BusinessEvent[] = [];
/** Each request's path and query, and its headers. */
const requests: { url: string; headers: Record<string, string | string[] | undefined> }[] = [];
let failNext = 0;
let failStatus = 500;

beforeAll(async () => {
  sandbox = await startDynamicsSandbox({
    customers: 60,
    products: 30,
    salesOrders: 3,
    numberSequences: { customerAccounts: { manual: true } },
  });
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests.push({ url: req.url ?? '', headers: { ...req.headers } });
      if (failNext > 0) {
        failNext -= 1;
        res.writeHead(failStatus).end();
        return;
      }
      received.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as BusinessEvent);
      res.writeHead(202).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/events`;
});
afterEach(() => {
  received.length = 0;
  requests.length = 0;
  failNext = 0;
  failStatus = 500;
  sandbox.control.configureBusinessEvents(undefined);
});
afterAll(async () => {
  await sandbox?.close();
  await new Promise((resolve) => receiver?.close(resolve));
});

const newCustomer = (account: string) => ({
  dataAreaId: 'usmf',
  CustomerAccount: account,
  OrganizationName: `${account} Industries Inc.`,
  PartyType: 'Organization',
  CustomerGroupId: '10',
  SalesCurrencyCode: 'USD',
});

describe('dynamics sandbox business events', () => {
  it('posts the F&O envelope for OData writes without blocking the response', async () => {
    sandbox.control.configureBusinessEvents({ url: `${receiverUrl}?code=s3cret` });
    const http = sandboxHttp(sandbox.info);
    const created = await http.call('POST', 'CustomersV3', newCustomer('US-EVT-1'));
    expect(created.status).toBe(201);
    const order = await http.call('POST', 'SalesOrderHeadersV2', {
      OrderingCustomerAccountNumber: 'US-EVT-1',
    });
    await sandbox.control.flushBusinessEvents();

    expect(received.map((e) => e.BusinessEventId)).toEqual([
      'MLCustomerChangedBusinessEvent',
      'SalesOrderCreatedBusinessEvent',
    ]);
    const [customerEvent, orderEvent] = received;
    expect(customerEvent).toMatchObject({
      BusinessEventLegalEntity: 'USMF',
      CustomerAccount: 'US-EVT-1',
      ContextRecordSubject: '',
      MajorVersion: 0,
      MinorVersion: 0,
      ParentContextRecordSubjects: [],
    });
    expect(String(customerEvent?.EventTime)).toMatch(/^\/Date\(\d+\)\/$/);
    expect(String(customerEvent?.EventId)).toMatch(/^[0-9A-F]{8}-[0-9A-F]{4}-/);
    expect(String(customerEvent?.EventTimeIso8601)).toMatch(/^\d{4}-\d{2}-\d{2}T.*Z$/);
    expect(String(customerEvent?.InitiatingUserAADObjectId)).toMatch(/^\{[0-9A-F-]{36}\}$/);
    expect(orderEvent?.SalesOrderNumber).toBe(order.json.SalesOrderNumber);
    expect(Number(orderEvent?.ControlNumber)).toBeGreaterThan(Number(customerEvent?.ControlNumber));
    // One event per POST to the complete configured URL, the secret in it; no header of its own.
    expect(requests.map((r) => r.url)).toEqual(['/events?code=s3cret', '/events?code=s3cret']);
    for (const { headers } of requests) {
      expect(Object.keys(headers).filter((h) => h.startsWith('x-'))).toEqual([]);
      expect(headers['content-type']).toBe('application/json');
    }
  });

  it('refuses a headers option: F&O sends none, the secret goes in the URL', () => {
    expect(() =>
      sandbox.control.configureBusinessEvents({ url: receiverUrl, headers: { 'x-secret': 's' } } as never),
    ).toThrow(/no custom headers/);
  });

  it('delivers data events as Dataverse RemoteExecutionContext bodies in the data-event shape', async () => {
    sandbox.control.configureBusinessEvents({ url: `${receiverUrl}?code=s3cret`, shape: 'data-event' });
    sandbox.control.createRecord('CustomersV3', newCustomer('US-EVT-3'));
    sandbox.control.updateRecord(
      'CustomersV3',
      { dataAreaId: 'usmf', CustomerAccount: 'US-EVT-3' },
      { CreditLimit: 500 },
    );
    await sandbox.control.flushBusinessEvents();
    const [created, updated] = received as unknown as RemoteExecutionContext[];
    expect(received).toHaveLength(2);
    const attributes = (event: RemoteExecutionContext | undefined, key: string) => {
      const params = event?.InputParameters as {
        key: string;
        value: { Attributes: { key: string; value: unknown }[] };
      }[];
      const entity = params.find((p) => p.key === key)?.value;
      return entity ? Object.fromEntries(entity.Attributes.map((a) => [a.key, a.value])) : undefined;
    };
    expect(created).toMatchObject({
      MessageName: 'OnExternalCreated',
      PrimaryEntityName: 'mserp_custcustomerv3entity',
      SecondaryEntityName: 'none',
      Stage: 40,
      PreEntityImages: [],
      PostEntityImages: [],
    });
    expect(String(created?.OperationCreatedOn)).toMatch(/^\/Date\(\d+\)\/$/);
    expect(attributes(created, 'Target')).toMatchObject({
      mserp_dataareaid: 'usmf',
      mserp_customeraccount: 'US-EVT-3',
    });
    expect(attributes(created, 'PreImage')).toBeUndefined();
    expect(updated).toMatchObject({
      MessageName: 'OnExternalUpdated',
      PrimaryEntityId: created?.PrimaryEntityId,
    });
    expect(attributes(updated, 'PreImage')).toMatchObject({ mserp_customeraccount: 'US-EVT-3' });
    expect(updated?.OperationId).not.toBe(created?.OperationId);
    // Dataverse's documented webhook headers, and still no secret outside the URL.
    expect(requests[1]?.headers).toMatchObject({
      'x-ms-dynamics-entity-name': 'mserp_custcustomerv3entity',
      'x-ms-dynamics-request-name': 'OnExternalUpdated',
      'x-ms-correlation-request-id': updated?.CorrelationId,
    });
    expect(requests.map((r) => r.url)).toEqual(['/events?code=s3cret', '/events?code=s3cret']);
  });

  it('retries failed deliveries, then parks the event for resend', async () => {
    sandbox.control.configureBusinessEvents({ url: receiverUrl, retries: 2, retryDelayMs: 20 });
    failNext = 2;
    sandbox.control.createRecord('CustomersV3', newCustomer('US-EVT-2'));
    await sandbox.control.flushBusinessEvents();
    expect(received.map((e) => e.CustomerAccount)).toEqual(['US-EVT-2']);
    expect(requests).toHaveLength(3);

    failNext = 3;
    sandbox.control.updateRecord(
      'CustomersV3',
      { dataAreaId: 'usmf', CustomerAccount: 'US-EVT-2' },
      { CreditLimit: 1000 },
    );
    await sandbox.control.flushBusinessEvents();
    expect(received).toHaveLength(1);
    const [parked] = sandbox.control.businessEventErrors();
    expect(parked).toMatchObject({ businessEventId: 'MLCustomerChangedBusinessEvent', attempts: 3 });
    expect(parked?.lastError).toMatch(/500/);

    sandbox.control.resendBusinessEvent(parked?.eventId ?? '');
    await sandbox.control.flushBusinessEvents();
    expect(received.map((e) => e.EventId)).toContain(parked?.eventId);
    expect(sandbox.control.businessEventErrors()).toEqual([]);
  });

  it("retries a data event as Dataverse's webhooks do: once, and only after 502, 503 or 504", async () => {
    sandbox.control.configureBusinessEvents({ url: receiverUrl, shape: 'data-event', retryDelayMs: 20 });
    failNext = 1;
    failStatus = 503;
    sandbox.control.updateRecord(
      'ReleasedProductsV2',
      { dataAreaId: 'usmf', ItemNumber: 'P000002' },
      { SalesPrice: 7 },
    );
    await sandbox.control.flushBusinessEvents();
    expect(requests).toHaveLength(2);
    expect(received).toHaveLength(1);

    failNext = 2;
    failStatus = 400;
    sandbox.control.updateRecord(
      'ReleasedProductsV2',
      { dataAreaId: 'usmf', ItemNumber: 'P000002' },
      { SalesPrice: 8 },
    );
    await sandbox.control.flushBusinessEvents();
    expect(requests).toHaveLength(3);
    const [parked] = sandbox.control.businessEventErrors();
    expect(parked).toMatchObject({
      businessEventId: 'OnExternalUpdated mserp_ecoresreleasedproductv2entity',
      attempts: 1,
    });
    expect(parked?.lastError).toMatch(/400/);
    failNext = 0;
    sandbox.control.resendBusinessEvent(parked?.eventId ?? '');
    await sandbox.control.flushBusinessEvents();
    expect(received).toHaveLength(2);
    expect(sandbox.control.businessEventErrors()).toEqual([]);
  });

  it('sends duplicates and reorders deliveries when configured', async () => {
    sandbox.control.configureBusinessEvents({
      url: receiverUrl,
      duplicateProbability: 0.5,
      reorderWindow: 4,
      seed: 11,
    });
    for (let i = 0; i < 12; i++) {
      sandbox.control.updateRecord(
        'ReleasedProductsV2',
        { dataAreaId: 'usmf', ItemNumber: 'P000001' },
        { SalesPrice: 100 + i },
      );
    }
    await sandbox.control.flushBusinessEvents();
    const ids = received.map((e) => e.EventId);
    expect(new Set(ids).size).toBe(12);
    expect(ids.length).toBeGreaterThan(12);
    const controls = [...new Map(received.map((e) => [e.EventId, e.ControlNumber])).values()];
    expect(controls).not.toEqual([...controls].sort((a, b) => a - b));
  });
});

describe('dynamics sandbox HTTP control surface', () => {
  const call = async (method: string, path: string, body?: unknown, token = sandbox.info.controlToken) => {
    const res = await fetch(`${sandbox.info.controlUrl}/${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  };

  it('requires the control token', async () => {
    expect((await call('GET', 'counters', undefined, 'wrong')).status).toBe(401);
  });

  it('creates sales orders, lists records, reads counters and rejects bad input with 400', async () => {
    const order = await call('POST', 'sales-orders', {
      header: {
        dataAreaId: 'gbsi',
        OrderingCustomerAccountNumber: 'GB-000003',
        CustomerRequisitionNumber: 'REQ-1',
      },
      lines: [{ ItemNumber: 'P000002', OrderedSalesQuantity: 2 }],
    });
    expect(order.status).toBe(201);
    const header = order.json.header as Record<string, unknown>;
    expect((order.json.lines as unknown[]).length).toBe(1);

    const list = await call(
      'GET',
      `records/SalesOrderHeadersV2?filter=${encodeURIComponent("CustomerRequisitionNumber eq 'REQ-1'")}`,
    );
    expect((list.json.value as Record<string, unknown>[]).map((h) => h.SalesOrderNumber)).toEqual([
      header.SalesOrderNumber,
    ]);
    const one = await call(
      'GET',
      `record/SalesOrderHeadersV2?dataAreaId=gbsi&SalesOrderNumber=${String(header.SalesOrderNumber)}`,
    );
    expect(one.status).toBe(200);

    expect((await call('PUT', 'faults', { rules: [{ kind: 'meteor' }] })).status).toBe(400);
    expect((await call('POST', 'clock/advance', { ms: 'soon' })).status).toBe(400);
    expect((await call('PUT', 'business-events/config', { url: 'ftp://x' })).status).toBe(400);
    const invalid = await call('POST', 'records/CustomersV3', {
      CustomerAccount: 'GB-X',
      dataAreaId: 'gbsi',
    });
    expect(invalid.status).toBe(400);
    expect(JSON.stringify(invalid.json)).toContain('must be filled in');

    await sandboxHttp(sandbox.info).get('Currencies');
    expect((await call('GET', 'counters')).json).toMatchObject({
      'odata.read': 1,
      'odata.read:Currencies': 1,
    });
    expect((await call('DELETE', 'counters')).status).toBe(204);
    expect((await call('GET', 'counters')).json).toEqual({});
  });
});
