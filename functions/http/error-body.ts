/**
 * Extracts the vendor's error code and message from an error response body. Knows the three
 * shapes the connector meets:
 * - F&O OData: `{"error":{"code","message","innererror":{"message","type"}}}` (the Infolog text is in innererror.message)
 * - Salesforce REST: `[{"message","errorCode","fields"}]`
 * - OAuth 2.0 / Entra: `{"error","error_description"}`
 */
export interface VendorError {
  readonly errorCode?: string | undefined;
  readonly message?: string | undefined;
}

export function parseVendorError(body: string): VendorError {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return {};
  }
  if (Array.isArray(parsed)) {
    const first = parsed[0] as { errorCode?: unknown; message?: unknown } | undefined;
    return {
      errorCode: typeof first?.errorCode === 'string' ? first.errorCode : undefined,
      message: typeof first?.message === 'string' ? first.message : undefined,
    };
  }
  if (parsed && typeof parsed === 'object') {
    const obj = parsed as Record<string, unknown>;
    if (obj.error && typeof obj.error === 'object') {
      const err = obj.error as { code?: unknown; message?: unknown; innererror?: { message?: unknown } };
      const inner = typeof err.innererror?.message === 'string' ? err.innererror.message : undefined;
      const outer = typeof err.message === 'string' ? err.message : undefined;
      return {
        errorCode: typeof err.code === 'string' && err.code !== '' ? err.code : undefined,
        message: inner ?? outer,
      };
    }
    if (typeof obj.error === 'string') {
      return {
        errorCode: obj.error,
        message: typeof obj.error_description === 'string' ? obj.error_description : undefined,
      };
    }
  }
  return {};
}
