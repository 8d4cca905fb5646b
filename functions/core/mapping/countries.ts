/**
 * ISO 3166-1 alpha-2 country codes from what a Salesforce address holds: the code itself, or a
 * country name (an org without State and Country/Territory Picklists keeps free text, and one with
 * them keeps the name in BillingCountry). Names are matched against the English region names of
 * the runtime's CLDR data (Node's full ICU), case-insensitively; deprecated codes are left out.
 */

let byName: Map<string, string> | undefined;

/** Codes ICU knows that are not countries. */
const NOT_COUNTRIES = new Set(['EU', 'EZ', 'UN', 'QO', 'XA', 'XB', 'ZZ']);

function names(): Map<string, string> {
  if (byName) return byName;
  const display = new Intl.DisplayNames(['en'], { type: 'region', fallback: 'none' });
  const map = new Map<string, string>();
  for (let a = 65; a <= 90; a++) {
    for (let b = 65; b <= 90; b++) {
      const code = String.fromCharCode(a, b);
      if (NOT_COUNTRIES.has(code) || Intl.getCanonicalLocales(`und-${code}`)[0] !== `und-${code}`) continue;
      const name = display.of(code);
      if (name && name !== code) map.set(name.toLowerCase(), code);
    }
  }
  map.set('united states of america', 'US');
  map.set('usa', 'US');
  byName = map;
  return map;
}

/** The alpha-2 code of `value` (a code or an English country name), or undefined. */
export function countryCodeOf(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (/^[A-Za-z]{2}$/.test(text)) return text.toUpperCase();
  return text ? names().get(text.toLowerCase()) : undefined;
}
