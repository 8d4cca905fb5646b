import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DynamicsSandbox, startDynamicsSandbox } from '#sandbox/dynamics/index.ts';
import { type SandboxHttp, sandboxHttp } from '#test/support/dynamics-sandbox-http.ts';

let sandbox: DynamicsSandbox;
let http: SandboxHttp;

beforeAll(async () => {
  sandbox = await startDynamicsSandbox({
    customers: 90,
    products: 30,
    salesOrders: 3,
    // Header and lines in one change set need caller-set order numbers: the sequence allows them.
    numberSequences: { salesOrders: { toAHigherNumber: true } },
  });
  http = sandboxHttp(sandbox.info);
});
afterAll(async () => {
  await sandbox?.close();
});

const CRLF = '\r\n';

function request(method: string, url: string, body?: unknown, contentId?: string): string {
  return [
    'Content-Type: application/http',
    'Content-Transfer-Encoding: binary',
    ...(contentId ? [`Content-ID: ${contentId}`] : []),
    '',
    `${method} ${url} HTTP/1.1`,
    ...(body === undefined ? [] : ['Content-Type: application/json']),
    '',
    body === undefined ? '' : JSON.stringify(body),
  ].join(CRLF);
}

function batchBody(items: (string | string[])[]): string {
  const parts = items.map((item, i) => {
    if (typeof item === 'string') return `--batch_1${CRLF}${item}`;
    const cs = `changeset_${i}`;
    const inner = item.map((r) => `--${cs}${CRLF}${r}`).join(CRLF);
    return `--batch_1${CRLF}Content-Type: multipart/mixed; boundary=${cs}${CRLF}${CRLF}${inner}${CRLF}--${cs}--`;
  });
  return `${parts.join(CRLF)}${CRLF}--batch_1--${CRLF}`;
}

async function postBatch(body: string) {
  const res = await fetch(`${sandbox.info.odataUrl}$batch`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${await http.token()}`,
      'content-type': 'multipart/mixed; boundary=batch_1',
    },
    body,
  });
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', text: await res.text() };
}

const statuses = (text: string) => [...text.matchAll(/^HTTP\/1\.1 (\d{3})/gm)].map((m) => Number(m[1]));

describe('dynamics sandbox $batch', () => {
  it('commits a change set with caller-set numbers and answers reads outside it', async () => {
    const res = await postBatch(
      batchBody([
        [
          request(
            'POST',
            'SalesOrderHeadersV2',
            { SalesOrderNumber: 'SO-900001', OrderingCustomerAccountNumber: 'US-000001' },
            '1',
          ),
          request(
            'POST',
            'SalesOrderLines',
            { SalesOrderNumber: 'SO-900001', ItemNumber: 'P000001', OrderedSalesQuantity: 2 },
            '2',
          ),
        ],
        request('GET', `${sandbox.info.odataUrl}LegalEntities?$select=LegalEntityId`),
      ]),
    );
    expect(res.status).toBe(200);
    expect(res.contentType).toMatch(/^multipart\/mixed; boundary=batchresponse_/);
    expect(statuses(res.text)).toEqual([201, 201, 200]);
    expect(sandbox.control.salesOrderLines('usmf', 'SO-900001')).toHaveLength(1);
    expect(sandbox.control.counters()).toMatchObject({ 'odata.batch': 1, 'odata.create:SalesOrderLines': 1 });
  });

  it('answers 200 but rolls the whole change set back when one request fails', async () => {
    const res = await postBatch(
      batchBody([
        [
          request(
            'POST',
            'SalesOrderHeadersV2',
            { SalesOrderNumber: 'SO-900002', OrderingCustomerAccountNumber: 'US-000002' },
            '1',
          ),
          request(
            'POST',
            'SalesOrderLines',
            { SalesOrderNumber: 'SO-900002', ItemNumber: 'NO-SUCH-ITEM' },
            '2',
          ),
        ],
      ]),
    );
    expect(res.status).toBe(200);
    expect(statuses(res.text)).toEqual([400]);
    expect(res.text).toContain("The value 'NO-SUCH-ITEM' in field 'Item number'");
    expect(
      sandbox.control.getRecord('SalesOrderHeadersV2', { dataAreaId: 'usmf', SalesOrderNumber: 'SO-900002' }),
    ).toBeUndefined();
  });

  it('cannot reference a generated order number within the change set', async () => {
    const res = await postBatch(
      batchBody([
        [
          request('POST', 'SalesOrderHeadersV2', { OrderingCustomerAccountNumber: 'US-000003' }, '1'),
          request('POST', '$1/SalesOrderLines', { ItemNumber: 'P000001' }, '2'),
        ],
      ]),
    );
    expect(res.status).toBe(200);
    expect(statuses(res.text)).toEqual([404]);
  });

  it('refuses a change set whose requests lack a Content-ID or repeat one, changing nothing', async () => {
    const line = { SalesOrderNumber: 'SO-900001', ItemNumber: 'P000002', OrderedSalesQuantity: 1 };
    const missing = await postBatch(batchBody([[request('POST', 'SalesOrderLines', line)]]));
    expect(missing.status).toBe(400);
    expect(missing.text).toContain('must have a Content-ID');
    const repeated = await postBatch(
      batchBody([
        [request('POST', 'SalesOrderLines', line, '1'), request('POST', 'SalesOrderLines', line, '1')],
      ]),
    );
    expect(repeated.status).toBe(400);
    expect(repeated.text).toContain("The Content-ID '1' is not unique");
    expect(sandbox.control.salesOrderLines('usmf', 'SO-900001')).toHaveLength(1);
  });

  it('echoes each Content-ID and undoes updates and deletes too when a later request fails', async () => {
    const [existing] = sandbox.control.salesOrderLines('usmf', 'SO-900001');
    const key = `SalesOrderLines(dataAreaId='usmf',InventoryLotId='${String(existing?.InventoryLotId)}')`;
    const ok = await postBatch(
      batchBody([
        [
          request('PATCH', key, { OrderedSalesQuantity: 7 }, 'a'),
          request('POST', 'SalesOrderLines', { SalesOrderNumber: 'SO-900001', ItemNumber: 'P000003' }, 'b'),
        ],
      ]),
    );
    expect(statuses(ok.text)).toEqual([204, 201]);
    expect([...ok.text.matchAll(/^Content-ID: (\S+)/gm)].map((m) => m[1])).toEqual(['a', 'b']);
    const lines = sandbox.control.salesOrderLines('usmf', 'SO-900001');
    expect(lines.map((l) => l.OrderedSalesQuantity)).toEqual([7, 1]);

    const failed = await postBatch(
      batchBody([
        [
          request('PATCH', key, { OrderedSalesQuantity: 9 }, '1'),
          request(
            'DELETE',
            `SalesOrderLines(dataAreaId='usmf',InventoryLotId='${String(lines[1]?.InventoryLotId)}')`,
            undefined,
            '2',
          ),
          request(
            'POST',
            'SalesOrderLines',
            { SalesOrderNumber: 'SO-900001', ItemNumber: 'NO-SUCH-ITEM' },
            '3',
          ),
        ],
      ]),
    );
    expect(statuses(failed.text)).toEqual([400]);
    expect(failed.text).toMatch(/^Content-ID: 3$/m);
    expect(sandbox.control.salesOrderLines('usmf', 'SO-900001').map((l) => l.OrderedSalesQuantity)).toEqual([
      7, 1,
    ]);
  });

  it('refuses line changes on a delivered order as F&O refuses them on a closed one', async () => {
    const [line] = sandbox.control.salesOrderLines('usmf', 'SO-900001');
    sandbox.control.updateRecord(
      'SalesOrderHeadersV2',
      { dataAreaId: 'usmf', SalesOrderNumber: 'SO-900001' },
      { SalesOrderStatus: 'Delivered' },
    );
    const key = `SalesOrderLines(dataAreaId='usmf',InventoryLotId='${String(line?.InventoryLotId)}')`;
    for (const change of [
      request('PATCH', key, { OrderedSalesQuantity: 3 }, '1'),
      request('DELETE', key, undefined, '1'),
      request('POST', 'SalesOrderLines', { SalesOrderNumber: 'SO-900001', ItemNumber: 'P000002' }, '1'),
    ]) {
      const res = await postBatch(batchBody([[change]]));
      expect(statuses(res.text)).toEqual([400]);
      expect(res.text).toContain('has status Delivered: its lines can no longer be changed');
    }
    expect(sandbox.control.salesOrderLines('usmf', 'SO-900001')).toHaveLength(2);
  });
});
