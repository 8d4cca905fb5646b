/**
 * The My Domain origin: the OAuth 2.0 token endpoint (client credentials) and the identity
 * service. REST is not served here: clients must use the `instance_url` of the token response.
 * https://help.salesforce.com/s/articleView?id=xcloud.remoteaccess_oauth_client_credentials_flow.htm
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { notFound, preFaults, type Reply, readBody, send } from './http.ts';
import type { ServerDeps } from './server.ts';

/**
 * The identity URL (`/id/<orgId>/<userId>`) and OpenID userinfo of the token's user, which My Domain
 * also serves. https://help.salesforce.com/s/articleView?id=sf.remoteaccess_using_openid.htm
 */
function identity(
  deps: ServerDeps,
  req: IncomingMessage,
  ids: readonly (string | undefined)[] | undefined,
): Reply {
  const bearer = /^(?:Bearer|OAuth)\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1]?.trim();
  const session = bearer ? deps.auth.verify(bearer) : undefined;
  if (!session) return { status: 403, text: 'Bad_OAuth_Token', contentType: 'text/plain' };
  if (
    ids &&
    (ids[0]?.slice(0, 15) !== session.orgId.slice(0, 15) ||
      ids[1]?.slice(0, 15) !== session.userId.slice(0, 15))
  ) {
    return { status: 403, text: 'Bad_Id', contentType: 'text/plain' };
  }
  const instanceUrl = deps.auth.options.instanceUrl;
  const urls = {
    rest: `${instanceUrl}/services/data/v{version}/`,
    sobjects: `${instanceUrl}/services/data/v{version}/sobjects/`,
    query: `${instanceUrl}/services/data/v{version}/query/`,
    custom_domain: instanceUrl,
  };
  const username = 'integration@ml-connector.sandbox';
  if (!ids) {
    return {
      status: 200,
      body: {
        sub: `https://login.salesforce.com/id/${session.orgId}/${session.userId}`,
        user_id: session.userId,
        organization_id: session.orgId,
        preferred_username: username,
        name: 'Integration User',
        email: username,
        user_type: 'STANDARD',
        active: true,
        urls,
      },
    };
  }
  return {
    status: 200,
    body: {
      id: `https://login.salesforce.com/id/${session.orgId}/${session.userId}`,
      asserted_user: true,
      user_id: session.userId,
      organization_id: session.orgId,
      username,
      display_name: 'Integration User',
      email: username,
      active: true,
      user_type: 'STANDARD',
      language: 'en_US',
      locale: 'en_US',
      utcOffset: 0,
      urls,
    },
  };
}

/** The My Domain origin's request handler: the token endpoint and the identity service. */
export function myDomainHandler(deps: ServerDeps) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'https://mydomain');
    try {
      const body = await readBody(req, 1024 * 1024);
      const identityMatch = /^\/id\/([A-Za-z0-9]{15,18})\/([A-Za-z0-9]{15,18})\/?$/.exec(url.pathname);
      if (identityMatch || url.pathname === '/services/oauth2/userinfo') {
        return send(
          res,
          identity(deps, req, identityMatch ? [identityMatch[1], identityMatch[2]] : undefined),
        );
      }
      if (url.pathname !== '/services/oauth2/token')
        return send(res, { status: 404, body: notFound().toBody() });
      if (req.method !== 'POST') {
        return send(res, {
          status: 400,
          body: { error: 'invalid_request', error_description: 'must use HTTP POST' },
        });
      }
      const { reset, decisions } = await preFaults(deps.faults, 'token', res);
      if (reset) return;
      const fault = decisions.find((d) => d.rule.kind === 'error' || d.rule.kind === 'throttle');
      if (fault) {
        const status = fault.rule.kind === 'throttle' ? 429 : (fault.rule.status ?? 503);
        return send(res, {
          status,
          body: { error: 'server_error', error_description: 'service unavailable' },
        });
      }
      deps.counters.increment('token');
      const result = deps.auth.token(new URLSearchParams(body.toString('utf8')), req.headers.authorization);
      if ('status' in result) {
        return send(res, {
          status: result.status,
          body: { error: result.error, error_description: result.error_description },
        });
      }
      send(res, {
        status: 200,
        body: result,
        headers: { 'cache-control': 'no-cache,must-revalidate,max-age=0,no-store,private' },
      });
    } catch (err) {
      if (!res.headersSent)
        send(res, { status: 500, body: { error: 'server_error', error_description: 'internal error' } });
      process.emitWarning(`salesforce sandbox token endpoint: unexpected ${(err as Error).name}`);
    }
  };
}
