/**
 * The sandbox's example business: Fabrikam Industrial, a maker of pumps, valves, compressors and
 * motors with three legal entities (usmf/USD, demf/EUR, gbsi/GBP). Every seeded record is a pure
 * function of (seed, entity, index), so a million customers cost no memory until they are changed.
 */
import { type Random, seededRandom } from '#sandbox/shared/random.ts';

/** A record as the OData service returns it (without `@odata.etag`). */
export type Rec = Record<string, string | number | null>;

export interface LegalEntityInfo {
  readonly id: string;
  readonly name: string;
  readonly currency: string;
  readonly countryIso3: string;
  readonly countryIso2: string;
  readonly language: string;
  readonly accountPrefix: string;
  readonly share: number;
  readonly customerGroups: readonly string[];
  readonly warehouse: string;
  readonly site: string;
  /** Sales prices are list prices in USD times this factor. */
  readonly priceFactor: number;
  readonly street: string;
  readonly city: string;
  readonly state: string;
  readonly zip: string;
}

/** Legal entities, sorted by id (the order F&O's key order yields). */
export const LEGAL_ENTITIES: readonly LegalEntityInfo[] = [
  {
    id: 'demf',
    name: 'Fabrikam Industrial GmbH',
    currency: 'EUR',
    countryIso3: 'DEU',
    countryIso2: 'DE',
    language: 'de',
    accountPrefix: 'DE-',
    share: 0.3,
    customerGroups: ['10', '20', '30', '90'],
    warehouse: '21',
    site: '2',
    priceFactor: 0.92,
    street: 'Industriestraße 12',
    city: 'Frankfurt am Main',
    state: 'HE',
    zip: '60311',
  },
  {
    id: 'gbsi',
    name: 'Fabrikam Industrial UK Ltd',
    currency: 'GBP',
    countryIso3: 'GBR',
    countryIso2: 'GB',
    language: 'en-gb',
    accountPrefix: 'GB-',
    share: 0.2,
    customerGroups: ['10', '20', '80'],
    warehouse: '31',
    site: '3',
    priceFactor: 0.79,
    street: '4 Riverside Way',
    city: 'Manchester',
    state: '',
    zip: 'M3 5AB',
  },
  {
    id: 'usmf',
    name: 'Fabrikam Industrial Inc.',
    currency: 'USD',
    countryIso3: 'USA',
    countryIso2: 'US',
    language: 'en-us',
    accountPrefix: 'US-',
    share: 0.5,
    customerGroups: ['10', '20', '30', '40', '80', '90'],
    warehouse: '11',
    site: '1',
    priceFactor: 1,
    street: '1200 Foundry Avenue',
    city: 'Milwaukee',
    state: 'WI',
    zip: '53202',
  },
];

export const CUSTOMER_GROUP_NAMES: Readonly<Record<string, string>> = {
  '10': 'Wholesale customers',
  '20': 'Major customers',
  '30': 'Retail customers',
  '40': 'Internet customers',
  '80': 'Other customers',
  '90': 'Intercompany customers',
};

/** Currencies (global). */
export const CURRENCIES: readonly { code: string; name: string; symbol: string }[] = [
  { code: 'AUD', name: 'Australian dollar', symbol: '$' },
  { code: 'CAD', name: 'Canadian dollar', symbol: '$' },
  { code: 'CHF', name: 'Swiss franc', symbol: 'CHF' },
  { code: 'CNY', name: 'Chinese yuan', symbol: '¥' },
  { code: 'DKK', name: 'Danish krone', symbol: 'kr' },
  { code: 'EUR', name: 'Euro', symbol: '€' },
  { code: 'GBP', name: 'British pound', symbol: '£' },
  { code: 'JPY', name: 'Japanese yen', symbol: '¥' },
  { code: 'MXN', name: 'Mexican peso', symbol: '$' },
  { code: 'NOK', name: 'Norwegian krone', symbol: 'kr' },
  { code: 'SEK', name: 'Swedish krona', symbol: 'kr' },
  { code: 'USD', name: 'US dollar', symbol: '$' },
];

export const PAYMENT_TERMS: readonly string[] = ['Net10', 'Net30', 'Net45', 'Net60', 'COD'];

/** F&O returns date-only values at noon UTC; "empty" dates are 1900-01-01T12:00:00Z. */
export const EMPTY_DATE = '1900-01-01T12:00:00Z';
const ANCHOR_MS = Date.UTC(2025, 0, 6);
export const dateOnly = (ms: number): string => `${new Date(ms).toISOString().slice(0, 10)}T12:00:00Z`;

/** A 32-bit hash of the seed, a tag and an index: the seed for one record's generator. */
export function recordRandom(seed: number, tag: string, index: number): Random {
  let h = (seed ^ 0x811c9dc5) >>> 0;
  for (let i = 0; i < tag.length; i++) h = Math.imul(h ^ tag.charCodeAt(i), 0x01000193) >>> 0;
  h = Math.imul(h ^ index, 0x9e3779b1) >>> 0;
  h = Math.imul(h ^ (index / 4294967296), 0x85ebca6b) >>> 0;
  return seededRandom(h ^ (h >>> 16));
}

/** Splits `total` over the legal entities by their share (largest remainder), in LEGAL_ENTITIES order. */
export function splitByShare(total: number): number[] {
  const raw = LEGAL_ENTITIES.map((le) => total * le.share);
  const counts = raw.map(Math.floor);
  let rest = total - counts.reduce((a, b) => a + b, 0);
  const order = raw.map((r, i) => [r - Math.floor(r), i] as const).sort((a, b) => b[0] - a[0]);
  for (const [, i] of order) {
    if (rest <= 0) break;
    counts[i] = (counts[i] ?? 0) + 1;
    rest -= 1;
  }
  return counts;
}

export const pad = (n: number, width: number): string => String(n).padStart(width, '0');

// ---------- customers ----------

const NAME_FIRST = [
  'Apex',
  'Summit',
  'Harbor',
  'Granite',
  'Riverbend',
  'Northgate',
  'Ironwood',
  'Bluewater',
  'Keystone',
  'Pioneer',
  'Cedar',
  'Atlas',
  'Meridian',
  'Lakeside',
  'Redstone',
  'Silverline',
  'Westfield',
  'Eastbrook',
  'Copperfield',
  'Highland',
  "O'Neil",
  'Blackrock',
  'Clearwater',
  'Evergreen',
  'Falcon',
  'Greystone',
  'Hillcrest',
  'Ridgeway',
  'Stonebridge',
  'Tidewater',
  'Valley',
  'Windmill',
  'A+',
  'Sterling',
  'Oakmont',
];
const NAME_CORE = [
  'Water Works',
  'Chemicals',
  'Mining',
  'Refining',
  'Food Processing',
  'Paper Mills',
  'Energy',
  'Construction',
  'Utilities',
  'Foundry',
  'Plastics',
  'Pharma',
  'Breweries',
  'Textiles',
  'Hydraulics',
  'Process Systems',
  'Agriculture',
  'Marine Services',
  'Steel',
  'Packaging',
];
const SUFFIX: Readonly<Record<string, readonly string[]>> = {
  US: ['Inc.', 'LLC', 'Corp.', '& Sons', 'Co.'],
  DE: ['GmbH', 'AG', 'GmbH & Co. KG', 'KG'],
  GB: ['Ltd', 'plc', 'Ltd', '& Partners'],
};
const CITIES: Readonly<Record<string, readonly (readonly [string, string, string])[]>> = {
  US: [
    ['Chicago', 'IL', '606'],
    ['Houston', 'TX', '770'],
    ['Seattle', 'WA', '981'],
    ['Denver', 'CO', '802'],
    ['Atlanta', 'GA', '303'],
    ['Pittsburgh', 'PA', '152'],
    ['Detroit', 'MI', '482'],
    ['Phoenix', 'AZ', '850'],
    ['Tulsa', 'OK', '741'],
    ['Columbus', 'OH', '432'],
  ],
  DE: [
    ['Berlin', 'BE', '10'],
    ['Hamburg', 'HH', '20'],
    ['München', 'BY', '80'],
    ['Köln', 'NW', '50'],
    ['Stuttgart', 'BW', '70'],
    ['Düsseldorf', 'NW', '40'],
    ['Leipzig', 'SN', '04'],
    ['Dortmund', 'NW', '44'],
  ],
  GB: [
    ['London', '', 'EC1A'],
    ['Birmingham', '', 'B1'],
    ['Leeds', '', 'LS1'],
    ['Glasgow', '', 'G1'],
    ['Bristol', '', 'BS1'],
    ['Sheffield', '', 'S1'],
    ['Liverpool', '', 'L1'],
    ['Newcastle', '', 'NE1'],
  ],
};
const STREETS: Readonly<Record<string, readonly string[]>> = {
  US: ['Main Street', 'Industrial Parkway', 'Commerce Drive', 'Mill Road', 'Harbor Boulevard', 'Oak Avenue'],
  DE: ['Hauptstraße', 'Industriestraße', 'Bahnhofstraße', 'Gewerbering', 'Hafenweg', 'Lindenallee'],
  GB: ['High Street', 'Station Road', 'Mill Lane', 'Church Road', 'Park Avenue', 'Victoria Road'],
};

/** The seeded customer of legal entity `le` at 0-based `index` (account number index + 1). */
export function seededCustomer(seed: number, le: LegalEntityInfo, index: number, width: number): Rec {
  const r = recordRandom(seed, `cust:${le.id}`, index);
  const iso = le.countryIso2;
  const first = r.pick(NAME_FIRST);
  const name = `${first} ${r.pick(NAME_CORE)} ${r.pick(SUFFIX[iso] ?? [''])}`;
  const [city, state, zipPrefix] = r.pick(CITIES[iso] ?? []);
  const houseNo = r.int(1, 980);
  const streetName = r.pick(STREETS[iso] ?? []);
  const street = iso === 'DE' ? `${streetName} ${houseNo}` : `${houseNo} ${streetName}`;
  const zip =
    iso === 'US'
      ? `${zipPrefix}${pad(r.int(1, 99), 2)}`
      : iso === 'DE'
        ? `${zipPrefix}${pad(r.int(100, 999), 3)}`
        : `${zipPrefix} ${r.int(1, 9)}${String.fromCharCode(65 + r.int(0, 25))}${String.fromCharCode(65 + r.int(0, 25))}`;
  const domain = `${first.replace(/[^A-Za-z]/g, '').toLowerCase() || 'customer'}${index + 1}.example.com`;
  return {
    dataAreaId: le.id,
    CustomerAccount: `${le.accountPrefix}${pad(index + 1, width)}`,
    OrganizationName: name,
    NameAlias: first.replace(/[^A-Za-z+]/g, ''),
    PartyType: 'Organization',
    PartyNumber: pad(1_000_000 + LEGAL_ENTITIES.indexOf(le) * 10_000_000 + index, 9),
    CustomerGroupId: r.pick(le.customerGroups.filter((g) => g !== '90')),
    SalesCurrencyCode: r.next() < 0.92 ? le.currency : r.pick(['USD', 'EUR', 'GBP', 'CAD', 'CHF']),
    PaymentTerms: r.pick(PAYMENT_TERMS),
    CreditLimit: r.int(1, 50) * 5000,
    IsOneTimeCustomer: 'No',
    LanguageId: le.language,
    AddressDescription: 'Business',
    AddressStreet: street,
    AddressCity: city,
    AddressState: state,
    AddressZipCode: zip,
    AddressCountryRegionId: le.countryIso3,
    AddressCountryRegionISOCode: iso,
    PrimaryContactPhone:
      iso === 'US'
        ? `+1 555 ${pad(r.int(0, 9999999), 7)}`
        : `+${iso === 'DE' ? 49 : 44} ${r.int(20, 89)} ${pad(r.int(0, 9999999), 7)}`,
    PrimaryContactEmail: `purchasing@${domain}`,
    PrimaryContactURL: `https://www.${domain}`,
    DeliveryTerms: r.pick(['FOB', 'CIF', 'EXW', 'DAP']),
    SalesTaxGroup: iso === 'US' ? 'AvaTax' : iso === 'DE' ? 'DOM' : 'UK',
  };
}

// ---------- released products ----------

interface ProductFamily {
  readonly prefix: string;
  /** The German name of the family, for the `de` product translation. */
  readonly prefixDe: string;
  readonly names: readonly string[];
  readonly unit: string;
  readonly min: number;
  readonly max: number;
  readonly group: string;
  readonly type: 'Item' | 'Service';
}
const FAMILIES: readonly ProductFamily[] = [
  {
    prefix: 'Centrifugal pump',
    prefixDe: 'Kreiselpumpe',
    names: ['CP-50', 'CP-80', 'CP-125', 'CP-200'],
    unit: 'ea',
    min: 1800,
    max: 14500,
    group: 'Pumps',
    type: 'Item',
  },
  {
    prefix: 'Submersible pump',
    prefixDe: 'Tauchpumpe',
    names: ['SP-20', 'SP-40', 'SP-75'],
    unit: 'ea',
    min: 1200,
    max: 9800,
    group: 'Pumps',
    type: 'Item',
  },
  {
    prefix: 'Gate valve',
    prefixDe: 'Absperrschieber',
    names: ['DN50', 'DN80', 'DN100', 'DN150'],
    unit: 'ea',
    min: 180,
    max: 2400,
    group: 'Valves',
    type: 'Item',
  },
  {
    prefix: 'Ball valve',
    prefixDe: 'Kugelhahn',
    names: ['1/2"', '1"', '2"', '4"'],
    unit: 'ea',
    min: 45,
    max: 900,
    group: 'Valves',
    type: 'Item',
  },
  {
    prefix: 'Butterfly valve',
    prefixDe: 'Absperrklappe',
    names: ['DN100', 'DN200', 'DN300'],
    unit: 'ea',
    min: 250,
    max: 3100,
    group: 'Valves',
    type: 'Item',
  },
  {
    prefix: 'Screw compressor',
    prefixDe: 'Schraubenkompressor',
    names: ['SC-11', 'SC-22', 'SC-37', 'SC-75'],
    unit: 'ea',
    min: 6500,
    max: 42000,
    group: 'Compressors',
    type: 'Item',
  },
  {
    prefix: 'Piston compressor',
    prefixDe: 'Kolbenkompressor',
    names: ['PC-3', 'PC-5', 'PC-10'],
    unit: 'ea',
    min: 1500,
    max: 8800,
    group: 'Compressors',
    type: 'Item',
  },
  {
    prefix: 'Electric motor',
    prefixDe: 'Elektromotor',
    names: ['5.5 kW', '11 kW', '22 kW', '45 kW'],
    unit: 'ea',
    min: 600,
    max: 7200,
    group: 'Motors',
    type: 'Item',
  },
  {
    prefix: 'Mechanical seal kit',
    prefixDe: 'Gleitringdichtungssatz',
    names: ['MS-25', 'MS-40', 'MS-60'],
    unit: 'ea',
    min: 60,
    max: 650,
    group: 'Spare parts',
    type: 'Item',
  },
  {
    prefix: 'Impeller',
    prefixDe: 'Laufrad',
    names: ['125 mm', '200 mm', '250 mm'],
    unit: 'pcs',
    min: 90,
    max: 1100,
    group: 'Spare parts',
    type: 'Item',
  },
  {
    prefix: 'Bearing set',
    prefixDe: 'Lagersatz',
    names: ['6205', '6308', '6412'],
    unit: 'pcs',
    min: 25,
    max: 320,
    group: 'Spare parts',
    type: 'Item',
  },
  {
    prefix: 'Gasket set',
    prefixDe: 'Dichtungssatz',
    names: ['EPDM', 'PTFE', 'Viton'],
    unit: 'Box',
    min: 12,
    max: 140,
    group: 'Spare parts',
    type: 'Item',
  },
  {
    prefix: 'Compressor oil',
    prefixDe: 'Kompressoröl',
    names: ['ISO 46', 'ISO 68'],
    unit: 'L',
    min: 8,
    max: 25,
    group: 'Consumables',
    type: 'Item',
  },
  {
    prefix: 'Hydraulic hose',
    prefixDe: 'Hydraulikschlauch',
    names: ['DN12', 'DN20', 'DN32'],
    unit: 'm',
    min: 6,
    max: 48,
    group: 'Consumables',
    type: 'Item',
  },
  {
    prefix: 'Commissioning service',
    prefixDe: 'Inbetriebnahme',
    names: ['pump', 'compressor'],
    unit: 'h',
    min: 95,
    max: 180,
    group: 'Services',
    type: 'Service',
  },
];

/** Released products use the same product numbers in every legal entity. */
export const itemNumber = (index: number, width: number): string => `P${pad(index + 1, width)}`;

/** Languages of the seeded product translations (ProductTranslations), sorted as their keys sort. */
export const PRODUCT_LANGUAGES: readonly string[] = ['de', 'en-us'];

/** The product name and description of product `index` in a seeded language (`de` or `en-us`). */
export function productText(
  seed: number,
  index: number,
  language: string,
): { readonly name: string; readonly description: string } {
  const r = recordRandom(seed, 'product', index);
  const family = r.pick(FAMILIES);
  const variant = r.pick(family.names);
  if (language === 'de') {
    return {
      name: `${family.prefixDe} ${variant}`,
      description: `${family.prefixDe} ${variant} für industrielle Prozessanwendungen`,
    };
  }
  const name = `${family.prefix} ${variant}`;
  return { name, description: `${name} for industrial process applications` };
}

/**
 * The seeded released product at 0-based `index` in legal entity `le`. ReleasedProductsV2 has no
 * product name or description (they live in ProductTranslations); its search names are F&O's
 * upper-case search aliases.
 */
export function seededProduct(seed: number, le: LegalEntityInfo, index: number, width: number): Rec {
  const r = recordRandom(seed, 'product', index);
  const family = r.pick(FAMILIES);
  const variant = r.pick(family.names);
  const name = `${family.prefix} ${variant}`;
  const listPrice = r.int(family.min * 100, family.max * 100) / 100;
  const price = Math.round(listPrice * le.priceFactor * 100) / 100;
  const number = itemNumber(index, width);
  const searchName = name
    .toUpperCase()
    .replace(/[^A-Z0-9]+/g, '')
    .slice(0, 20);
  return {
    dataAreaId: le.id,
    ItemNumber: number,
    ProductNumber: number,
    SearchName: searchName,
    ProductSearchName: searchName,
    ProductType: family.type,
    ProductSubType: 'Product',
    ProductGroupId: family.group,
    ItemModelGroupId: family.type === 'Service' ? 'SERVICE' : 'FIFO',
    SalesPrice: price,
    SalesPriceQuantity: 1,
    SalesUnitSymbol: family.unit,
    InventoryUnitSymbol: family.unit,
    PurchaseUnitSymbol: family.unit,
    NetProductWeight: family.type === 'Service' ? 0 : r.int(1, 4000) / 10,
  };
}

/** A seeded date in 2025/2026, date-only (noon UTC). */
export function seededDate(r: Random, maxDays = 600): string {
  return dateOnly(ANCHOR_MS + r.int(0, maxDays) * 86_400_000);
}
