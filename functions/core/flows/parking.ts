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
