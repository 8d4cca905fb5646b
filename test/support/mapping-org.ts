/**
 * The Salesforce custom fields of the org docs/MAPPING.md's recipes run against (besides the
 * connector's defaults): what a customer adds in Setup before using those recipes.
 */
import { field as custom, DEFAULT_CUSTOM_FIELDS, type FieldDef } from '#sandbox/salesforce/objects.ts';

/** The payment terms picklist of the recipes' org. */
export const PAYMENT_TERMS_PICKLIST: readonly string[] = [
  'Net 10',
  'Net 30',
  'Net 45',
  'Net 60',
  'Cash on delivery',
  'Cash',
];

export const MAPPING_ORG_FIELDS: Readonly<Record<string, readonly FieldDef[]>> = {
  ...DEFAULT_CUSTOM_FIELDS,
  Account: [
    ...DEFAULT_CUSTOM_FIELDS.Account,
    custom('Credit_Limit__c', 'currency', 'Credit Limit'),
    custom('Payment_Terms__c', 'picklist', 'Payment Terms', {
      length: 255,
      picklistValues: PAYMENT_TERMS_PICKLIST,
    }),
    custom('On_Hold__c', 'boolean', 'On Hold'),
  ],
};
