/**
 * State and Country/Territory Picklists, as an org with the feature on enforces them on the
 * Billing/Shipping addresses: `…CountryCode` / `…StateCode` are restricted picklists (ISO codes),
 * `…Country` / `…State` hold the integration value (the name), and Salesforce keeps the two in step.
 * https://help.salesforce.com/s/articleView?id=xcloud.admin_state_country_picklists_field_syncing.htm
 *
 * Field-syncing rules reproduced (that help page): a valid code sets the name; a valid name sets
 * the code; on create, mismatched name and code → the name follows the code; on update, a
 * mismatched pair is refused; removing the country code removes the state code and both names;
 * a state that is not in the country is refused.
 *
 * Messages:
 * - an unknown country code: `INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST`
 *   "Billing Country Code: bad value for restricted picklist field: XX"
 *   (https://help.salesforce.com/s/articleView?id=000386448).
 * - a state code not available for the country: `FIELD_INTEGRITY_EXCEPTION` "The BillingStateCode
 *   field contains EP, which isn't an available state. Your administrator can add it for you."
 *   (seen from a real org: https://support.storeconnect.com/article/resolve-state-country-picklist-sync-errors).
 * - a state name that is not a valid state: `FIELD_INTEGRITY_EXCEPTION` "There's a problem with
 *   this state, even though it may appear correct. Please select a state from the list of valid
 *   states." (https://salesforce.stackexchange.com/q/122863).
 * - a country name that is not a valid country: the same shape for the country. UNCONFIRMED wording
 *   (no primary source found); the sandbox refuses, which is the stricter choice.
 *
 * The sandbox enables a subset of Salesforce's ~240 default countries (those the example business
 * and the tests use, plus neighbours), with Salesforce's default names, and states for the United
 * States and Canada only. A real org enables more (states for about ten countries by default, not
 * Germany or the United Kingdom): a smaller list is the stricter choice.
 */
import { RecordError } from './store.ts';

/** Country code → integration value (the default label). */
export const SANDBOX_COUNTRIES: Readonly<Record<string, string>> = Object.freeze({
  AT: 'Austria',
  AU: 'Australia',
  BE: 'Belgium',
  BR: 'Brazil',
  CA: 'Canada',
  CH: 'Switzerland',
  CN: 'China',
  DE: 'Germany',
  DK: 'Denmark',
  ES: 'Spain',
  FI: 'Finland',
  FR: 'France',
  GB: 'United Kingdom',
  IE: 'Ireland',
  IN: 'India',
  IT: 'Italy',
  JP: 'Japan',
  MX: 'Mexico',
  NL: 'Netherlands',
  NO: 'Norway',
  PL: 'Poland',
  PT: 'Portugal',
  SE: 'Sweden',
  US: 'United States',
});

/** Country code → state code → integration value. */
export const SANDBOX_STATES: Readonly<Record<string, Readonly<Record<string, string>>>> = Object.freeze({
  US: {
    AL: 'Alabama',
    AK: 'Alaska',
    AZ: 'Arizona',
    AR: 'Arkansas',
    CA: 'California',
    CO: 'Colorado',
    CT: 'Connecticut',
    DE: 'Delaware',
    DC: 'District of Columbia',
    FL: 'Florida',
    GA: 'Georgia',
    HI: 'Hawaii',
    ID: 'Idaho',
    IL: 'Illinois',
    IN: 'Indiana',
    IA: 'Iowa',
    KS: 'Kansas',
    KY: 'Kentucky',
    LA: 'Louisiana',
    ME: 'Maine',
    MD: 'Maryland',
    MA: 'Massachusetts',
    MI: 'Michigan',
    MN: 'Minnesota',
    MS: 'Mississippi',
    MO: 'Missouri',
    MT: 'Montana',
    NE: 'Nebraska',
    NV: 'Nevada',
    NH: 'New Hampshire',
    NJ: 'New Jersey',
    NM: 'New Mexico',
    NY: 'New York',
    NC: 'North Carolina',
    ND: 'North Dakota',
    OH: 'Ohio',
    OK: 'Oklahoma',
    OR: 'Oregon',
    PA: 'Pennsylvania',
    RI: 'Rhode Island',
    SC: 'South Carolina',
    SD: 'South Dakota',
    TN: 'Tennessee',
    TX: 'Texas',
    UT: 'Utah',
    VT: 'Vermont',
    VA: 'Virginia',
    WA: 'Washington',
    WV: 'West Virginia',
    WI: 'Wisconsin',
    WY: 'Wyoming',
  },
  CA: {
    AB: 'Alberta',
    BC: 'British Columbia',
    MB: 'Manitoba',
    NB: 'New Brunswick',
    NL: 'Newfoundland and Labrador',
    NS: 'Nova Scotia',
    NT: 'Northwest Territories',
    NU: 'Nunavut',
    ON: 'Ontario',
    PE: 'Prince Edward Island',
    QC: 'Quebec',
    SK: 'Saskatchewan',
    YT: 'Yukon Territories',
  },
});

/** The state picklist values in describe order, each with the country it is valid for. */
export function stateEntries(): { value: string; label: string; country: string }[] {
  const out: { value: string; label: string; country: string }[] = [];
  for (const [country, states] of Object.entries(SANDBOX_STATES)) {
    for (const [value, label] of Object.entries(states)) out.push({ value, label, country });
  }
  return out;
}

/**
 * The describe `validFor` of a dependent picklist value: base64 of a bitmap over the controlling
 * field's values, bit i (most significant bit first in each byte) set when valid for value i.
 * https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_describesobjects_describesobjectresult.htm
 */
export function validForBitmap(controllerValues: readonly string[], valid: readonly string[]): string {
  const bytes = new Uint8Array(Math.ceil(controllerValues.length / 8));
  controllerValues.forEach((v, i) => {
    if (valid.includes(v)) bytes[i >> 3] = (bytes[i >> 3] as number) | (0x80 >> (i & 7));
  });
  return Buffer.from(bytes).toString('base64');
}

type Draft = Record<string, unknown>;

const text = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);

function byName(map: Readonly<Record<string, string>>, name: string): string | undefined {
  for (const [code, label] of Object.entries(map)) if (label === name) return code;
  return undefined;
}

/**
 * Applies the picklist rules to one address (`Billing` or `Shipping`) of a row about to be written;
 * fills the synced field and throws RecordError as Salesforce refuses. `changed` holds the fields
 * the caller set; `insert` tells create from update.
 */
export function applyAddressPicklists(
  prefix: 'Billing' | 'Shipping',
  row: Draft,
  changed: ReadonlySet<string>,
  insert: boolean,
): void {
  const f = {
    country: `${prefix}Country`,
    countryCode: `${prefix}CountryCode`,
    state: `${prefix}State`,
    stateCode: `${prefix}StateCode`,
  };
  const touched = Object.values(f).some((name) => changed.has(name));
  if (!touched) return;
  const codeLabel = `${prefix} Country Code`;

  // Country: code first (it wins on create), else the name.
  let countryCode = text(row[f.countryCode]);
  if (changed.has(f.countryCode) && countryCode !== null) {
    const label = SANDBOX_COUNTRIES[countryCode];
    if (!label) {
      throw new RecordError(
        'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST',
        `${codeLabel}: bad value for restricted picklist field: ${countryCode}`,
        [f.countryCode],
      );
    }
    const name = text(row[f.country]);
    if (!insert && changed.has(f.country) && name !== null && name !== label) {
      throw countryProblem(f.country);
    }
    row[f.country] = label;
  } else if (changed.has(f.country)) {
    const name = text(row[f.country]);
    if (name === null) {
      countryCode = null;
    } else {
      const code = byName(SANDBOX_COUNTRIES, name);
      if (!code) throw countryProblem(f.country);
      countryCode = code;
    }
    row[f.countryCode] = countryCode;
  }
  if (countryCode === null) {
    // Removing the country removes the state code and both names.
    row[f.country] = null;
    row[f.countryCode] = null;
    if (text(row[f.stateCode]) !== null && !changed.has(f.stateCode)) {
      row[f.stateCode] = null;
      row[f.state] = null;
    }
  }

  // State: valid only among the country's states.
  const states = countryCode ? SANDBOX_STATES[countryCode] : undefined;
  const stateCode = text(row[f.stateCode]);
  if (changed.has(f.stateCode) && stateCode !== null) {
    const label = states?.[stateCode];
    if (!label) {
      throw new RecordError(
        'FIELD_INTEGRITY_EXCEPTION',
        `The ${f.stateCode} field contains ${stateCode}, which isn't an available state. Your administrator can add it for you.`,
        [f.stateCode],
      );
    }
    row[f.state] = label;
  } else if (changed.has(f.stateCode) && !changed.has(f.state)) {
    // The state code removed: the name goes with it.
    row[f.state] = null;
  } else if (changed.has(f.state) || changed.has(f.countryCode) || changed.has(f.country)) {
    const name = text(row[f.state]);
    if (name === null) {
      row[f.stateCode] = null;
    } else {
      const code = states ? byName(states, name) : undefined;
      if (!code) throw stateProblem(f.state);
      row[f.stateCode] = code;
    }
  }
}

const countryProblem = (field: string) =>
  new RecordError(
    'FIELD_INTEGRITY_EXCEPTION',
    "There's a problem with this country, even though it may appear correct. Please select a country/territory from the list of valid countries.",
    [field],
  );

const stateProblem = (field: string) =>
  new RecordError(
    'FIELD_INTEGRITY_EXCEPTION',
    "There's a problem with this state, even though it may appear correct. Please select a state from the list of valid states.",
    [field],
  );
