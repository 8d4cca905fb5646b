import { ParkedError } from '#core/mapping/legal-entity.ts';
import { SalesforceApiError } from '#core/ports/salesforce/errors.ts';

/**
 * Per-record Salesforce errors that a person fixes in the data or the org (a validation rule, a
 * required custom field, a value too long, an invalid picklist value or address): the record is
 * parked with Salesforce's message (audited, replayable), the rest of the batch carries on.
 * https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_concepts_core_data_objects.htm
 */
const PARKING_STATUS_CODES: ReadonlySet<string> = new Set([
  'FIELD_CUSTOM_VALIDATION_EXCEPTION',
  'REQUIRED_FIELD_MISSING',
  'STRING_TOO_LONG',
  'FIELD_INTEGRITY_EXCEPTION',
  'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST',
  'INVALID_EMAIL_ADDRESS',
  'FIELD_FILTER_VALIDATION_EXCEPTION',
]);

/** Whether a per-record statusCode parks the record (see {@link PARKING_STATUS_CODES}). */
export function parksRecord(statusCode: string | undefined): boolean {
  return statusCode !== undefined && PARKING_STATUS_CODES.has(statusCode);
}

/**
 * Runs a single-record Salesforce write (a number or key written back); a refusal with a parking
 * statusCode (e.g. a validation rule on Order) becomes a ParkedError carrying Salesforce's message,
 * so the record is parked (audited, replayable) instead of failing as a system error.
 */
export async function parkOnRefusal<T>(what: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (error instanceof SalesforceApiError && parksRecord(error.errorCode)) {
      const first = error.errors[0];
      throw new ParkedError(
        'SALESFORCE_REFUSED',
        `${what}: ${error.errorCode}: ${first?.message ?? error.message}`,
        { cause: error },
      );
    }
    throw error;
  }
}
