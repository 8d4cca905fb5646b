/**
 * Records the commands an AWS SDK v3 client sends (name and input), through the client's own
 * middleware stack: how tests against moto see which calls the code made, without mocking them.
 */
interface MiddlewareClient {
  readonly middlewareStack: {
    add(
      middleware: (
        next: (args: { input: unknown }) => Promise<unknown>,
        context: { commandName?: string },
      ) => (args: { input: unknown }) => Promise<unknown>,
      options: { step: 'initialize'; name: string },
    ): void;
  };
}

export interface SdkCall {
  readonly command: string;
  readonly input: Record<string, unknown>;
}

/** Starts recording `client`'s commands; returns the live list. */
export function recordSdkCalls(client: { readonly middlewareStack: object }): SdkCall[] {
  const calls: SdkCall[] = [];
  (client as MiddlewareClient).middlewareStack.add(
    (next, context) => async (args) => {
      calls.push({ command: context.commandName ?? '', input: args.input as Record<string, unknown> });
      return next(args);
    },
    { step: 'initialize', name: 'recordSdkCalls' },
  );
  return calls;
}
