/**
 * The control surface over HTTP: JSON under `/_sandbox/...` on the instance origin, bearer
 * `controlToken`. Bad input answers 400 `{ "error": "<message>" }`.
 *
 *   POST   /_sandbox/accounts                      {fields}            → {id}
 *   POST   /_sandbox/opportunities                 OpportunityInput    → {id, lineIds}
 *   POST   /_sandbox/opportunities/{id}/close-won  {stageName?}
 *   POST   /_sandbox/orders                        OrderInput          → {id, lineIds}
 *   POST   /_sandbox/orders/{id}/activate
 *   POST   /_sandbox/records/{type}                {fields}            → {id}
 *   GET|PATCH|DELETE /_sandbox/records/{type}/{id}; POST …/{id}/undelete
 *   GET    /_sandbox/query?q=…[&all=true]
 *   GET|DELETE /_sandbox/counters
 *   GET|PUT /_sandbox/faults                       FaultPlan
 *   GET    /_sandbox/clock;  POST /_sandbox/clock/advance {ms}
 *   GET|PUT /_sandbox/api-usage                    {used?, max?}
 *   POST   /_sandbox/changes/gap                   {entityName, changeType, recordIds?}
 *   POST   /_sandbox/changes/event                 {entityName, changeType, recordIds, changedFields?, commitUser?}
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { SandboxClock } from '#sandbox/shared/clock.ts';
import { ControlError, type SalesforceControl } from './control.ts';
import type { Reply } from './http.ts';

const ok = (body: unknown = {}): Reply => ({ status: 200, body });
const bad = (message: string, status = 400): Reply => ({ status, body: { error: message } });

function object(body: Buffer): Record<string, unknown> {
  if (body.length === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw new ControlError('the body must be JSON');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new ControlError('the body must be a JSON object');
  return parsed as Record<string, unknown>;
}

/** Handles one `/_sandbox/...` request. */
export function handleControl(
  control: SalesforceControl,
  clock: SandboxClock,
  token: string,
  req: IncomingMessage,
  url: URL,
  body: Buffer,
): Reply {
  const auth = req.headers.authorization ?? '';
  const given = Buffer.from(auth.startsWith('Bearer ') ? auth.slice(7) : '');
  const expected = Buffer.from(token);
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    return bad('a valid control token is required', 401);
  const parts = url.pathname.split('/').filter(Boolean).slice(1).map(decodeURIComponent);
  const method = req.method ?? 'GET';
  const route = `${method} ${parts.map((p, i) => (i > 0 && !ROUTE_WORDS.has(p) ? ':' : p)).join('/')}`;
  try {
    const input = object(body);
    switch (route) {
      case 'POST accounts':
        return ok({ id: control.createAccount((input.fields ?? input) as Record<string, unknown>) });
      case 'POST opportunities':
        return ok(control.createOpportunity(input as never));
      case 'POST opportunities/:/close-won':
        control.closeOpportunityWon(
          parts[1] as string,
          (input.stageName as string | undefined) ?? 'Closed Won',
        );
        return ok();
      case 'POST orders':
        return ok(control.createOrder(input as never));
      case 'POST orders/:/activate':
        control.activateOrder(parts[1] as string);
        return ok();
      case 'POST records/:':
        return ok({
          id: control.insert(parts[1] as string, (input.fields ?? input) as Record<string, unknown>),
        });
      case 'GET records/:/:': {
        const record = control.get(parts[1] as string, parts[2] as string);
        return record ? ok(record) : bad('not found', 404);
      }
      case 'PATCH records/:/:':
        control.update(
          parts[1] as string,
          parts[2] as string,
          (input.fields ?? input) as Record<string, unknown>,
        );
        return ok();
      case 'DELETE records/:/:':
        control.delete(parts[1] as string, parts[2] as string);
        return ok();
      case 'POST records/:/:/undelete':
        control.undelete(parts[1] as string, parts[2] as string);
        return ok();
      case 'GET query':
        return ok(
          control.query(url.searchParams.get('q') ?? '', { all: url.searchParams.get('all') === 'true' }),
        );
      case 'GET counters':
        return ok(control.counters());
      case 'DELETE counters':
        control.resetCounters();
        return ok();
      case 'GET faults':
        return ok(control.getFaultPlan());
      case 'PUT faults':
        control.setFaultPlan(input as never);
        return ok();
      case 'GET clock':
        return ok({ now: clock.now(), offsetMs: clock.offsetMs });
      case 'POST clock/advance':
        control.advanceClock(input.ms as number);
        return ok({ now: clock.now(), offsetMs: clock.offsetMs });
      case 'GET api-usage':
        return ok(control.apiUsage());
      case 'PUT api-usage':
        control.setApiUsage(input as { used?: number; max?: number });
        return ok(control.apiUsage());
      case 'POST changes/gap':
        control.injectGap(input as never);
        return ok();
      case 'POST changes/event':
        control.publishChangeEvent(input as never);
        return ok();
      default:
        return bad(`no control route ${method} ${url.pathname}`, 404);
    }
  } catch (err) {
    if (err instanceof ControlError) return bad(err.message);
    // Input of the wrong shape (e.g. `lines` not an array) surfaces as a TypeError: still the caller's fault.
    if (err instanceof TypeError) return bad(`invalid input: ${err.message}`);
    throw err;
  }
}

const ROUTE_WORDS = new Set(['close-won', 'activate', 'undelete', 'advance', 'gap', 'event']);
