import { ConnectorError } from '#base/errors.ts';

/** Polls `probe` every 250 ms until it returns a value; throws after `timeoutMs` naming `what`. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) {
      throw new ConnectorError(`the demo waited ${timeoutMs / 1000} s for ${what}`, {
        code: 'DEMO_TIMEOUT',
        failure: 'transient',
      });
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}
