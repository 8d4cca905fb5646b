import { describe, expect, it } from 'vitest';
import {
  type CsdlWanted,
  createCsdlReader,
  likelyTypeNames,
  MetadataParseError,
  readCsdl,
  readCsdlPass,
} from '#dynamics/metadata-csdl.ts';
import { FO_CSDL_FIXTURE, generateCsdl } from '#test/support/csdl.ts';

const WANTED: CsdlWanted = { entitySets: ['CustomersV3', 'SalesOrderLines', 'ReleasedProductsV2'] };

/** The document as UTF-8 bytes cut into pieces of the given sizes (cycled). */
async function* bytesIn(text: string, sizes: readonly number[]): AsyncGenerator<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const size = sizes[i % sizes.length] as number;
    yield bytes.subarray(at, at + size);
    at += size;
  }
}

async function* once(text: string): AsyncGenerator<string> {
  yield text;
}

describe('readCsdlPass', () => {
  it('maps each wanted entity set to its entity type key, property types and nullability', async () => {
    const { model, missedTypes } = await readCsdlPass(once(FO_CSDL_FIXTURE), WANTED);
    expect(missedTypes).toEqual([]);
    expect(Object.keys(model.entitySets).sort()).toEqual(['CustomersV3', 'SalesOrderLines']);
    expect(model.entitySets.CustomersV3).toEqual({
      name: 'CustomersV3',
      entityType: 'Microsoft.Dynamics.DataEntities.CustomerV3',
      key: ['dataAreaId', 'CustomerAccount'],
      fields: {
        dataAreaId: { type: 'Edm.String', nullable: false },
        CustomerAccount: { type: 'Edm.String', nullable: false },
        OrganizationName: { type: 'Edm.String', nullable: true },
        CreditLimit: { type: 'Edm.Decimal', nullable: false },
        IsOneTimeCustomer: { type: 'enum:NoYes', nullable: true },
        OnHoldStatus: { type: 'enum:CustVendorBlocked', nullable: true },
      },
    });
    expect(model.entitySets.SalesOrderLines?.key).toEqual(['dataAreaId', 'InventoryLotId']);
    expect(model.entitySets.SalesOrderLines?.entityType).toBe(
      'Microsoft.Dynamics.DataEntities.SalesOrderLine',
    );
    expect(model.entitySets.SalesOrderLines?.fields.LineNumber).toEqual({
      type: 'Edm.Decimal',
      nullable: false,
    });
  });

  it('keeps the members of the enum types the kept properties use, and no others', async () => {
    const { model } = await readCsdlPass(once(FO_CSDL_FIXTURE), WANTED);
    expect(model.enums).toEqual({ NoYes: ['No', 'Yes'], CustVendorBlocked: ['No', 'Invoice', 'All'] });
  });

  it('reads the same model from a stream cut into pieces at every awkward place', async () => {
    const whole = await readCsdlPass(once(FO_CSDL_FIXTURE), WANTED);
    const withAccents = FO_CSDL_FIXTURE.replace('&#x00E9;tat', 'état ünïcode');
    const accented = await readCsdlPass(once(withAccents), WANTED);
    for (const sizes of [[1], [2, 3], [7, 1, 13], [64, 5], [4096]]) {
      expect(await readCsdlPass(bytesIn(FO_CSDL_FIXTURE, sizes), WANTED)).toEqual(whole);
      // Multi-byte UTF-8 characters split between chunks still decode.
      expect(await readCsdlPass(bytesIn(withAccents, sizes), WANTED)).toEqual(accented);
    }
  });

  it('accepts text written in pieces through the reader directly', () => {
    const reader = createCsdlReader(WANTED);
    for (let i = 0; i < FO_CSDL_FIXTURE.length; i += 11) reader.write(FO_CSDL_FIXTURE.slice(i, i + 11));
    expect(Object.keys(reader.end().model.entitySets).sort()).toEqual(['CustomersV3', 'SalesOrderLines']);
  });

  it('reports a set whose type name was not guessed, for a second pass', async () => {
    const renamed = FO_CSDL_FIXTURE.replaceAll('CustomerV3', 'CustTableEntity');
    const { model, missedTypes } = await readCsdlPass(once(renamed), WANTED);
    expect(model.entitySets.CustomersV3).toBeUndefined();
    expect(missedTypes).toEqual(['Microsoft.Dynamics.DataEntities.CustTableEntity']);
  });

  it('keeps only the wanted sets of a generated 50,000-entity document', async () => {
    let passes = 0;
    const model = await readCsdl(
      (wanted) => {
        passes += 1;
        return readCsdlPass(generateCsdl(50_000, 4), wanted);
      },
      // GeneratedEntities7's type (GeneratedEntity7) is not among the guesses: a second pass finds it.
      { entitySets: ['CustomersV3', 'GeneratedEntities7'] },
    );
    expect(passes).toBe(2);
    expect(Object.keys(model.entitySets).sort()).toEqual(['CustomersV3', 'GeneratedEntities7']);
    expect(Object.keys(model.entitySets.CustomersV3?.fields ?? {})).toHaveLength(6);
    expect(model.entitySets.CustomersV3?.key).toEqual(['dataAreaId', 'Id49999']);
    expect(model.entitySets.GeneratedEntities7?.fields.Field0).toEqual({
      type: 'Edm.Decimal',
      nullable: true,
    });
  }, 120_000);

  it('inherits the key and properties of a base type, reading again when the base was not kept', async () => {
    const derived = FO_CSDL_FIXTURE.replace(
      '<EntityType Name="Vendor">',
      '<EntityType Name="CustomerV3Base"><Key><PropertyRef Name="dataAreaId"/><PropertyRef Name="CustomerAccount"/></Key>' +
        '<Property Name="dataAreaId" Type="Edm.String" Nullable="false"/>' +
        '<Property Name="CustomerAccount" Type="Edm.String" Nullable="false"/></EntityType>\n<EntityType Name="Vendor">',
    )
      .replace(
        '<EntityType Name="CustomerV3">',
        '<EntityType Name="CustomerV3" BaseType="mde.CustomerV3Base">',
      )
      .replace(/<Key><PropertyRef Name="dataAreaId"\/><PropertyRef Name="CustomerAccount"\/><\/Key>\n/, '')
      .replace('  <Property Name="dataAreaId" Type="Edm.String" Nullable="false" MaxLength="4"/>\n', '')
      .replace(
        '  <Property Name="CustomerAccount" Type="Edm.String" Nullable="false" MaxLength="20"/>\n',
        '',
      );
    const first = await readCsdlPass(once(derived), WANTED);
    expect(first.missedTypes).toEqual(['Microsoft.Dynamics.DataEntities.CustomerV3Base']);
    const model = await readCsdl((wanted) => readCsdlPass(once(derived), wanted), WANTED);
    expect(model.entitySets.CustomersV3?.key).toEqual(['dataAreaId', 'CustomerAccount']);
    expect(Object.keys(model.entitySets.CustomersV3?.fields ?? {})).toEqual([
      'dataAreaId',
      'CustomerAccount',
      'OrganizationName',
      'CreditLimit',
      'IsOneTimeCustomer',
      'OnHoldStatus',
    ]);
  });

  it('refuses a document whose tags do not nest', async () => {
    const broken = FO_CSDL_FIXTURE.replace('</Key>', '</PropertyRef>');
    await expect(readCsdlPass(once(broken), WANTED)).rejects.toThrow(MetadataParseError);
  });

  it('refuses a document that ends inside a tag or an element', async () => {
    await expect(readCsdlPass(once(FO_CSDL_FIXTURE.slice(0, 700)), WANTED)).rejects.toThrow(/ends inside/);
    const cut = FO_CSDL_FIXTURE.indexOf('<EntityType Name="SalesOrderLine"') + 20;
    await expect(readCsdlPass(once(FO_CSDL_FIXTURE.slice(0, cut)), WANTED)).rejects.toThrow(
      /ends inside a tag/,
    );
  });

  it('refuses markup longer than its bound instead of buffering without end', async () => {
    async function* endless(): AsyncGenerator<string> {
      yield '<edmx:Edmx Version="4.0"><EntityType Name="';
      for (let i = 0; i < 2_000; i++) yield 'x'.repeat(1024);
    }
    await expect(readCsdlPass(endless(), WANTED)).rejects.toThrow(/longer than/);
  });
});

describe('readCsdl', () => {
  it('reads the document again keeping the types a first pass missed', async () => {
    const renamed = FO_CSDL_FIXTURE.replaceAll('CustomerV3', 'CustTableEntity');
    const passes: CsdlWanted[] = [];
    const model = await readCsdl(async (wanted) => {
      passes.push(wanted);
      return readCsdlPass(once(renamed), wanted);
    }, WANTED);
    expect(passes).toHaveLength(2);
    expect(passes[1]?.entityTypes).toEqual(['Microsoft.Dynamics.DataEntities.CustTableEntity']);
    expect(model.entitySets.CustomersV3?.key).toEqual(['dataAreaId', 'CustomerAccount']);
  });

  it('reads once when every type was guessed', async () => {
    let passes = 0;
    await readCsdl(async (wanted) => {
      passes += 1;
      return readCsdlPass(once(FO_CSDL_FIXTURE), wanted);
    }, WANTED);
    expect(passes).toBe(1);
  });
});

describe('likelyTypeNames', () => {
  it('guesses the singular type names F&O gives its entity sets', () => {
    expect(likelyTypeNames('CustomersV3')).toContain('CustomerV3');
    expect(likelyTypeNames('SalesOrderHeadersV2')).toContain('SalesOrderHeaderV2');
    expect(likelyTypeNames('LegalEntities')).toContain('LegalEntity');
    expect(likelyTypeNames('Currencies')).toContain('Currency');
    expect(likelyTypeNames('SalesOrderLines')).toContain('SalesOrderLine');
    expect(likelyTypeNames('Ledgers')).toContain('Ledger');
  });
});
