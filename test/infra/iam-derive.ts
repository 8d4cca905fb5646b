/**
 * Derives the AWS API actions each AWS entry point's code can call, from its source, for the IAM
 * test (iam.test.ts):
 *
 * 1. The files an entry point bundles: esbuild with the stack's settings (lib/bundling.ts), the
 *    metafile's inputs that kept bytes after tree-shaking.
 * 2. The port calls in those files: `<…>.queue.<method>(…)`, `<…>.state.<method>(…)`,
 *    `<…>.secrets.<method>(…)` (the ports are always held under these names; {@link portNameViolations}
 *    checks that), with the queue name when the first argument is `QUEUES.<name>`.
 * 3. For each method of the three AWS adapters (work-queue.ts, state-store.ts, secrets.ts), the SDK
 *    commands it sends and on what: a call graph inside the adapter's module, following the
 *    argument that names the resource (`QueueUrl`, `IndexName`, `SecretId`) through helpers.
 * 4. SDK command → IAM action through {@link COMMAND_ACTIONS}.
 *
 * Any SDK command constructed outside the three adapters fails the derivation: extend it then.
 */
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { build } from 'esbuild';
import { parseAst } from 'rolldown/parseAst';
import { esbuildOptions } from '../../lib/bundling.ts';
import { PROJECT_ROOT } from '../../lib/constructs/connector-function.ts';

// biome-ignore lint/suspicious/noExplicitAny: an ESTree node from the parser, walked by shape.
type Node = any;

/**
 * SDK command (class name) → the IAM actions it needs (Service Authorization Reference: Amazon SQS,
 * Amazon DynamoDB, AWS Secrets Manager). SQS batch calls are authorized by the single action.
 * lib-dynamodb's document commands send the DynamoDB operation named after them. A
 * TransactWrite would need TransactWriteItems plus the action of every item kind it carries
 * (ConditionCheckItem only for ConditionCheck items); the code sends none.
 */
export const COMMAND_ACTIONS: Readonly<Record<string, readonly string[]>> = {
  // @aws-sdk/client-sqs
  SendMessageCommand: ['sqs:SendMessage'],
  SendMessageBatchCommand: ['sqs:SendMessage'],
  ReceiveMessageCommand: ['sqs:ReceiveMessage'],
  DeleteMessageCommand: ['sqs:DeleteMessage'],
  DeleteMessageBatchCommand: ['sqs:DeleteMessage'],
  ChangeMessageVisibilityCommand: ['sqs:ChangeMessageVisibility'],
  GetQueueAttributesCommand: ['sqs:GetQueueAttributes'],
  StartMessageMoveTaskCommand: ['sqs:StartMessageMoveTask'],
  // @aws-sdk/lib-dynamodb (document client) and @aws-sdk/client-dynamodb
  GetCommand: ['dynamodb:GetItem'],
  PutCommand: ['dynamodb:PutItem'],
  UpdateCommand: ['dynamodb:UpdateItem'],
  DeleteCommand: ['dynamodb:DeleteItem'],
  QueryCommand: ['dynamodb:Query'],
  ScanCommand: ['dynamodb:Scan'],
  BatchGetCommand: ['dynamodb:BatchGetItem'],
  BatchWriteCommand: ['dynamodb:BatchWriteItem'],
  DescribeTableCommand: ['dynamodb:DescribeTable'],
  // @aws-sdk/client-secrets-manager
  GetSecretValueCommand: ['secretsmanager:GetSecretValue'],
};

type Service = 'sqs' | 'dynamodb' | 'secretsmanager';
const SERVICE_OF_PACKAGE: Readonly<Record<string, Service>> = {
  '@aws-sdk/client-sqs': 'sqs',
  '@aws-sdk/client-dynamodb': 'dynamodb',
  '@aws-sdk/lib-dynamodb': 'dynamodb',
  '@aws-sdk/client-secrets-manager': 'secretsmanager',
};

/** The ports, the adapter module implementing each on AWS, and its factory. */
export const PORT_ADAPTERS = {
  queue: { file: 'functions/adapters/aws/work-queue.ts', factory: 'createSqsWorkQueue' },
  state: { file: 'functions/adapters/aws/state-store.ts', factory: 'createDynamoStateStore' },
  secrets: { file: 'functions/adapters/aws/secrets.ts', factory: 'createSecretsManagerSecrets' },
} as const;
export type Port = keyof typeof PORT_ADAPTERS;
const PORTS = Object.keys(PORT_ADAPTERS) as Port[];
/** The TypeScript types of the ports (and the SQS adapter's widening of WorkQueue). */
const PORT_TYPES: Readonly<Record<string, Port>> = {
  WorkQueue: 'queue',
  SqsWorkQueue: 'queue',
  StateStore: 'state',
  Secrets: 'secrets',
};

/**
 * A resource named symbolically: `table`, `table/index`, `queue:<name>`, `dlq:<name>`,
 * `secret:<dynamics|salesforce|receiver>`.
 */
export type Resource = string;

/** One derived permission need, with where it comes from (for failure messages). */
export interface Need {
  readonly action: string;
  readonly resource: Resource;
  readonly because: string;
}

// --- AST helpers -------------------------------------------------------------------------------

function children(node: Node): Node[] {
  const out: Node[] = [];
  for (const [k, v] of Object.entries(node)) {
    if (k === 'typeAnnotation' || k === 'returnType' || k === 'typeParameters') continue;
    if (Array.isArray(v)) for (const c of v) if (c && typeof c.type === 'string') out.push(c);
    if (v && typeof v === 'object' && typeof (v as Node).type === 'string') out.push(v);
  }
  return out;
}

function walk(node: Node, visit: (n: Node, parent: Node | undefined) => boolean | undefined, parent?: Node) {
  if (visit(node, parent) === false) return;
  for (const c of children(node)) walk(c, visit, node);
}

const isFunction = (n: Node) =>
  n?.type === 'ArrowFunctionExpression' ||
  n?.type === 'FunctionExpression' ||
  n?.type === 'FunctionDeclaration';

const keyName = (n: Node): string | undefined =>
  n?.type === 'Identifier' ? n.name : typeof n?.value === 'string' ? n.value : undefined;

function paramNames(fn: Node): string[] {
  return (fn.params ?? []).map((p: Node) => {
    const q = p.type === 'TSParameterProperty' ? p.parameter : p;
    if (q.type === 'Identifier') return q.name;
    if (q.type === 'AssignmentPattern' && q.left.type === 'Identifier') return q.left.name;
    return '';
  });
}

function parseFile(file: string): Node {
  return parseAst(readFileSync(join(PROJECT_ROOT, file), 'utf8'), { lang: 'ts' }, file);
}

// --- Adapter analysis --------------------------------------------------------------------------

type Evaluator = 'url' | 'ddb' | 'key';
type Res = { readonly kind: string } | { readonly param: number; readonly as: Evaluator };
interface Effect {
  readonly command: string;
  readonly service: Service;
  readonly res: Res;
}
interface Entity {
  readonly name: string;
  readonly params: string[];
  readonly effects: Effect[];
  readonly calls: { readonly callee: string; readonly args: Node[] | undefined }[];
}

/** `kind` values: queue, dlq, table, index, a secret name, or `*` (any of the port's resources). */
function evaluate(as: Evaluator, e: Node, params: readonly string[]): Res[] {
  if (!e) return [{ kind: '*' }];
  if (e.type === 'Identifier' && params.includes(e.name)) return [{ param: params.indexOf(e.name), as }];
  if (as === 'url') {
    const name = e.type === 'Identifier' ? e.name : e.type === 'MemberExpression' ? keyName(e.property) : '';
    if (name === 'dlqUrl') return [{ kind: 'dlq' }];
    if (name === 'url') return [{ kind: 'queue' }];
    return [{ kind: '*' }];
  }
  if (as === 'key') {
    if (e.type === 'Literal' && typeof e.value === 'string') return [{ kind: e.value }];
    return [{ kind: '*' }];
  }
  // ddb: a Query input; an IndexName makes it an index query, a spread input decides otherwise.
  if (e.type === 'ConditionalExpression') {
    return [...evaluate('ddb', e.consequent, params), ...evaluate('ddb', e.alternate, params)];
  }
  if (e.type !== 'ObjectExpression') return [{ kind: 'table' }, { kind: 'index' }];
  if (e.properties.some((p: Node) => p.type === 'Property' && keyName(p.key) === 'IndexName')) {
    return [{ kind: 'index' }];
  }
  const spreads = e.properties.filter((p: Node) => p.type === 'SpreadElement');
  const fromSpreads = spreads.flatMap((s: Node) => evaluate('ddb', s.argument, params));
  // A spread decides only by naming an index or passing the caller's input on.
  const deciding = fromSpreads.filter((r: Res) => !('kind' in r) || r.kind === 'index');
  return deciding.length > 0 ? deciding : [{ kind: 'table' }];
}

/** Only Query and Scan can name an index (IAM resource `table/<name>/index/<index>`). */
const INDEX_COMMANDS = new Set(['QueryCommand', 'ScanCommand']);

function commandResource(service: Service, command: string, input: Node, params: readonly string[]): Res[] {
  const prop = (name: string) =>
    input?.type === 'ObjectExpression'
      ? input.properties.find((p: Node) => p.type === 'Property' && keyName(p.key) === name)?.value
      : undefined;
  if (service === 'sqs') return evaluate('url', prop('QueueUrl'), params);
  if (service === 'dynamodb') {
    return INDEX_COMMANDS.has(command) ? evaluate('ddb', input, params) : [{ kind: 'table' }];
  }
  const id = prop('SecretId');
  // `options.arns[name]`: the secret is the key's value.
  if (id?.type === 'MemberExpression' && id.computed) return evaluate('key', id.property, params);
  return evaluate('key', id, params);
}

interface AdapterModel {
  /** Port method → what it sends: `<command> <service> <kind>` (kind `*` when unresolved). */
  readonly methods: ReadonlyMap<string, readonly Effect[]>;
}

/** Builds the method → SDK effects model of one adapter module (see the module doc). */
export function analyseAdapter(file: string, factory: string): AdapterModel {
  const ast = parseFile(file);
  const services = new Map<string, Service>();
  for (const stmt of ast.body) {
    if (stmt.type !== 'ImportDeclaration') continue;
    const service = SERVICE_OF_PACKAGE[stmt.source.value];
    if (!service) continue;
    for (const s of stmt.specifiers) services.set(s.local.name, service);
  }
  const entities = new Map<string, Entity>();
  const aliases = new Map<string, string>();
  const entity = (name: string, params: string[]): Entity => {
    const existing = entities.get(name);
    if (existing) return existing; // same name twice in one module: one conservative union
    const created: Entity = { name, params, effects: [], calls: [] };
    entities.set(name, created);
    return created;
  };
  const root = entity('<module>', []);
  let methods: string[] = [];

  const visit = (node: Node, current: Entity) => {
    let next = current;
    if (node.type === 'FunctionDeclaration' && node.id) next = entity(node.id.name, paramNames(node));
    else if (node.type === 'VariableDeclarator' && node.id?.type === 'Identifier') {
      if (isFunction(node.init)) next = entity(node.id.name, paramNames(node.init));
      else if (node.init?.type === 'CallExpression' && node.init.arguments.some(isFunction)) {
        // `const read = cached(async () => …)`: a value built around a function; runs when declared too.
        next = entity(node.id.name, []);
        current.calls.push({ callee: next.name, args: undefined });
      }
    } else if (node.type === 'Property' && !node.computed) {
      const name = keyName(node.key);
      if (name && isFunction(node.value)) next = entity(`#${name}`, paramNames(node.value));
      else if (name && node.value.type === 'Identifier') aliases.set(`#${name}`, node.value.name);
    }
    if (node.type === 'NewExpression' && node.callee.type === 'Identifier') {
      const service = services.get(node.callee.name);
      if (service && node.callee.name.endsWith('Command')) {
        for (const res of commandResource(service, node.callee.name, node.arguments[0], next.params)) {
          next.effects.push({ command: node.callee.name, service, res });
        }
      }
    }
    if (node.type === 'CallExpression' && node.callee.type === 'Identifier') {
      next.calls.push({ callee: node.callee.name, args: node.arguments });
    }
    if (node.type === 'CallExpression' || node.type === 'NewExpression') {
      for (const arg of node.arguments) {
        // A helper passed as a value (callback): it may run with any arguments.
        if (arg.type === 'Identifier' && entities.has(arg.name)) {
          next.calls.push({ callee: arg.name, args: undefined });
        }
      }
    }
    if (
      node.type === 'FunctionDeclaration' &&
      node.id?.name === factory &&
      node.body?.type === 'BlockStatement'
    ) {
      const ret = node.body.body.find((s: Node) => s.type === 'ReturnStatement');
      if (ret?.argument?.type === 'ObjectExpression') {
        methods = ret.argument.properties.flatMap((p: Node) =>
          p.type === 'Property' ? [keyName(p.key) ?? ''] : [],
        );
      }
    }
    for (const c of children(node)) visit(c, next);
  };
  // Two passes: the first registers every entity (so references before declarations resolve).
  visit(ast, root);
  for (const e of entities.values()) {
    e.effects.length = 0;
    e.calls.length = 0;
  }
  visit(ast, root);
  if (methods.length === 0) throw new Error(`${file}: no object literal returned by ${factory}`);

  const memo = new Map<string, Effect[]>();
  const effectsOf = (name: string, stack: readonly string[]): Effect[] => {
    const target = aliases.get(name) ?? name;
    const cached = memo.get(target);
    if (cached) return cached;
    const e = entities.get(target);
    if (!e || stack.includes(target)) return [];
    const out: Effect[] = [...e.effects];
    for (const call of e.calls) {
      for (const sub of effectsOf(call.callee, [...stack, target])) {
        if ('kind' in sub.res) out.push(sub);
        else {
          const arg = call.args?.[sub.res.param];
          const resolved = call.args === undefined ? [{ kind: '*' }] : evaluate(sub.res.as, arg, e.params);
          for (const res of resolved) out.push({ ...sub, res });
        }
      }
    }
    memo.set(target, out);
    return out;
  };
  const model = new Map<string, Effect[]>();
  for (const m of methods) {
    const effects = effectsOf(`#${m}`, []).map((f) => ('kind' in f.res ? f : { ...f, res: { kind: '*' } }));
    model.set(m, effects);
  }
  return { methods: model };
}

// --- Entry points ------------------------------------------------------------------------------

/**
 * An entry point's bundle as the stack builds it but not minified (names and esbuild's
 * `// <file>` module markers kept; tree-shaking is the same), and the project files it keeps.
 */
export async function bundle(entry: string): Promise<{ code: string; files: string[] }> {
  const result = await build({
    ...esbuildOptions(),
    absWorkingDir: PROJECT_ROOT,
    entryPoints: [entry],
    outfile: 'out/iam.mjs',
    write: false,
    metafile: true,
    minify: false,
    sourcemap: false,
    legalComments: 'none',
    logLevel: 'error',
  });
  const code = result.outputFiles.find((f) => f.path.endsWith('.mjs'))?.text ?? '';
  const inputs = Object.values(result.metafile.outputs).flatMap((o) => Object.entries(o.inputs));
  const files = inputs
    .filter(([path, { bytesInOutput }]) => bytesInOutput > 0 && !path.includes('node_modules/'))
    .map(([path]) => relative(PROJECT_ROOT, join(PROJECT_ROOT, path)))
    .sort();
  return { code, files };
}

/** One port call found in the sources. */
export interface PortCall {
  readonly port: Port;
  readonly method: string;
  /** `QUEUES.<name>`'s value when the first argument names the queue; undefined otherwise. */
  readonly queue: string | undefined;
  readonly at: string;
}

const QUEUE_NAMES: Readonly<Record<string, string>> = {
  toSalesforce: 'to-salesforce',
  toDynamics: 'to-dynamics',
};

/** esbuild renames a colliding name with a number (`queue2`); the port is the name without it. */
function portOf(object: Node): Port | undefined {
  const name =
    object.type === 'Identifier'
      ? object.name
      : object.type === 'MemberExpression' && !object.computed
        ? keyName(object.property)
        : undefined;
  return PORTS.find((p) => name?.replace(/\d+$/, '') === p);
}

const queueName = (arg: Node): string | undefined =>
  arg?.type === 'MemberExpression' &&
  arg.object.type === 'Identifier' &&
  /^QUEUES\d*$/.test(arg.object.name) &&
  !arg.computed
    ? QUEUE_NAMES[keyName(arg.property) ?? '']
    : undefined;

/**
 * Port method calls in the project code of a (non-minified) bundle, attributed to their files by
 * esbuild's module markers, and every `QUEUES.<name>` each file mentions. The bundle is
 * tree-shaken: a function the entry point never reaches is not in it.
 */
export function scanBundle(code: string): {
  calls: PortCall[];
  queuesMentioned: Map<string, Set<string>>;
  /** A port read into another name (`const q = ctx.queue`, `const { send } = queue`): its calls would be missed. */
  aliased: string[];
} {
  const markers = [...code.matchAll(/^\/\/ (\S+)$/gm)].map((m) => ({ at: m.index, file: m[1] ?? '' }));
  const fileAt = (pos: number) => {
    let found = '';
    for (const m of markers) {
      if (m.at > pos) break;
      found = m.file;
    }
    return found;
  };
  const ours = (file: string) => file.startsWith('functions/');
  const calls: PortCall[] = [];
  const queuesMentioned = new Map<string, Set<string>>();
  const aliased: string[] = [];
  const snippet = (n: Node) => code.slice(n.start, n.start + 60).split('\n')[0];
  walk(parseAst(code, { lang: 'js' }), (n) => {
    const [target, value] =
      n.type === 'VariableDeclarator'
        ? [n.id, n.init]
        : n.type === 'AssignmentExpression'
          ? [n.left, n.right]
          : [];
    if (
      value &&
      (value.type === 'Identifier' || value.type === 'MemberExpression') &&
      ours(fileAt(n.start))
    ) {
      const port = portOf(value);
      const kept = target !== undefined && portOf(target) === port;
      // `const { queue } = ctx` names the port itself; `const { send } = ctx.queue` does not.
      if (port && !kept) aliased.push(`${fileAt(n.start)} (${snippet(n)})`);
    }
    if (n.type === 'CallExpression' && n.callee.type === 'MemberExpression' && !n.callee.computed) {
      const port = portOf(n.callee.object);
      const method = keyName(n.callee.property);
      const file = fileAt(n.start);
      if (port && method && ours(file)) {
        calls.push({
          port,
          method,
          queue: queueName(n.arguments[0]),
          at: `${file} (${snippet(n)})`,
        });
      }
    }
    const q = queueName(n);
    if (q) {
      const file = fileAt(n.start);
      if (ours(file)) queuesMentioned.set(file, (queuesMentioned.get(file) ?? new Set()).add(q));
    }
    return undefined;
  });
  return { calls, queuesMentioned, aliased };
}

/** SDK commands a source file constructs (`Name at file:line`). */
export function commandsIn(file: string): string[] {
  const source = readFileSync(join(PROJECT_ROOT, file), 'utf8');
  const line = (pos: number) => source.slice(0, pos).split('\n').length;
  const out: string[] = [];
  walk(parseFile(file), (n) => {
    if (n.type === 'NewExpression' && n.callee.type === 'Identifier' && /Command$/.test(n.callee.name)) {
      out.push(`${n.callee.name} at ${file}:${line(n.start)}`);
    }
    return undefined;
  });
  return out;
}

/**
 * Values typed as a port but named otherwise (`q: WorkQueue`) would hide their calls from
 * {@link scanBundle}: lists them (`name: Type at file:line`).
 */
export function portNameViolations(file: string): string[] {
  const ast = parseFile(file);
  const source = readFileSync(join(PROJECT_ROOT, file), 'utf8');
  const line = (pos: number) => source.slice(0, pos).split('\n').length;
  const out: string[] = [];
  const check = (name: string | undefined, annotation: Node, pos: number) => {
    const t = annotation?.typeAnnotation;
    if (t?.type !== 'TSTypeReference' || t.typeName?.type !== 'Identifier') return;
    const port = PORT_TYPES[t.typeName.name];
    if (port && name !== port) out.push(`${name}: ${t.typeName.name} at ${file}:${line(pos)}`);
  };
  const visit = (n: Node) => {
    if (n.type === 'Identifier' && n.typeAnnotation) check(n.name, n.typeAnnotation, n.start);
    if (n.type === 'TSPropertySignature') check(keyName(n.key), n.typeAnnotation, n.start);
    for (const [k, v] of Object.entries(n)) {
      if (k === 'type') continue;
      if (Array.isArray(v)) for (const c of v) if (c && typeof c.type === 'string') visit(c);
      if (v && typeof v === 'object' && typeof (v as Node).type === 'string') visit(v);
    }
  };
  visit(ast);
  return out;
}

/** Everything the IAM test needs about one entry point. */
export interface Derived {
  readonly entry: string;
  readonly files: readonly string[];
  readonly calls: readonly PortCall[];
  readonly needs: readonly Need[];
  /** SDK commands constructed outside the adapters (must be empty). */
  readonly strayCommands: readonly string[];
  /** Port-typed values not named after their port, or read into another name (must be empty). */
  readonly misnamedPorts: readonly string[];
}

const ADAPTER_FILES = new Set<string>(Object.values(PORT_ADAPTERS).map((a) => a.file));

/** Derives the IAM needs of one entry point's code (see the module doc). */
export async function deriveNeeds(entry: string): Promise<Derived> {
  const { code, files } = await bundle(entry);
  const models = Object.fromEntries(
    PORTS.map((p) => [p, analyseAdapter(PORT_ADAPTERS[p].file, PORT_ADAPTERS[p].factory)]),
  ) as Record<Port, AdapterModel>;
  const scanned = scanBundle(code);
  // Queue names an unnamed call may mean: those the entry's own code names (the contract's list
  // of both, in bootstrap.ts and items.ts, is not a use).
  const mentioned = new Set(
    [...scanned.queuesMentioned]
      .filter(([file]) => !/adapters\/aws\/bootstrap\.ts$|core\/work\/items\.ts$/.test(file))
      .flatMap(([, names]) => [...names]),
  );
  const calls = scanned.calls;
  const needs: Need[] = [];
  for (const call of calls) {
    const effects = models[call.port].methods.get(call.method);
    if (!effects) continue; // not a port method (e.g. `queue.then`)
    for (const effect of effects) {
      const actions = COMMAND_ACTIONS[effect.command];
      if (!actions) throw new Error(`${effect.command}: add its IAM actions to COMMAND_ACTIONS`);
      const kind = (effect.res as { kind: string }).kind;
      let resources: string[];
      if (effect.service === 'sqs') {
        const names = call.queue ? [call.queue] : [...mentioned];
        const kinds = kind === '*' ? ['queue', 'dlq'] : [kind];
        resources = names.flatMap((n) => kinds.map((k) => `${k}:${n}`));
      } else if (effect.service === 'dynamodb') {
        resources = [kind === 'index' ? 'table/index' : 'table'];
      } else {
        resources =
          kind === '*' ? ['secret:dynamics', 'secret:salesforce', 'secret:receiver'] : [`secret:${kind}`];
      }
      for (const action of actions) {
        for (const resource of resources) {
          needs.push({ action, resource, because: `${call.port}.${call.method} at ${call.at}` });
        }
      }
    }
  }
  return {
    entry,
    files,
    calls,
    needs,
    strayCommands: files.filter((f) => !ADAPTER_FILES.has(f)).flatMap(commandsIn),
    misnamedPorts: [...files.flatMap(portNameViolations), ...scanned.aliased],
  };
}
