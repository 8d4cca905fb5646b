import { describe, expect, it } from 'vitest';
import { ConfigError } from '#base/errors.ts';
import type { Logger } from '#base/logger.ts';
import { createSalesforceTokenSource } from '#salesforce/auth.ts';
import { DATA, INSTANCE, MY_DOMAIN, newAgent, serveTokens, testClient } from './support.ts';

function capture(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const log = (level: string) => (message: string, fields?: Record<string, unknown>) =>
    lines.push(JSON.stringify({ level, message, fields }));
  return {
    lines,
    logger: { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') },
  };
}

describe('secrets', () => {
  it('keeps access tokens and the client secret out of logs and errors', async () => {
    const agent = newAgent();
    serveTokens(agent);
    agent
      .get(INSTANCE)
      .intercept({ path: `${DATA}/limits/`, method: 'GET' })
      .reply(401, [{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }])
      .persist();
    const { logger, lines } = capture();
    const client = testClient(agent, { logger });
    const error = (await client.limits().catch((e: unknown) => e)) as Error;
    const text = [...lines, error.message, error.stack ?? '', JSON.stringify(error)].join('\n');
    expect(lines.some((l) => l.includes('salesforce.token.minted'))).toBe(true);
    expect(text).not.toMatch(/tok-\d/);
    expect(text).not.toContain('very-secret');
    await agent.close();
  });
});

describe('createSalesforceTokenSource', () => {
  it('validates the My Domain before any request', () => {
    expect(() =>
      createSalesforceTokenSource({
        myDomainUrl: 'https://login.salesforce.com',
        clientId: 'a',
        clientSecret: 'b',
      }),
    ).toThrow(ConfigError);
  });

  it('mints through its own HTTP client on the given dispatcher', async () => {
    const agent = newAgent();
    serveTokens(agent);
    const tokens = createSalesforceTokenSource({
      myDomainUrl: MY_DOMAIN,
      clientId: 'a',
      clientSecret: 'b',
      dispatcher: agent,
    });
    expect((await tokens.getSession()).instanceUrl).toBe(INSTANCE);
    await tokens.close();
    await agent.close();
  });
});
