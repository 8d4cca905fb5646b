/**
 * A streaming reader of an F&O environment's `GET /data/$metadata` (OData v4 CSDL XML): it reads
 * the document chunk by chunk and keeps only the entity sets it is asked for, with their entity
 * types' keys and properties (EDM type, nullability), and the members of the enum types those
 * properties use. Memory stays bounded by the wanted entities, the names of enum types and one
 * XML tag (at most 1 MiB), whatever the size of the document (tens of MB, thousands of entity
 * types on a real environment).
 *
 * A small hand-written tokenizer for the subset CSDL uses (start/end/empty tags with attributes and
 * their character references; the XML declaration, comments, CDATA and a DOCTYPE without internal
 * subset are skipped; text content is ignored), not a general XML parser: no dependency, nothing to
 * audit, a few KB, and attributes parsed only for the elements kept.
 * https://docs.oasis-open.org/odata/odata-csdl-xml/v4.01/odata-csdl-xml-v4.01.html
 */
import { ConnectorError } from '#base/errors.ts';
import type { CsdlEntitySet, CsdlModel, CsdlProperty } from '#core/ports/dynamics/metadata.ts';

/** The metadata vocabulary of the DynamicsApi port, re-exported for the reader's callers. */
export type { CsdlEntitySet, CsdlModel, CsdlProperty };

/** The document is not the CSDL XML it should be. */
export class MetadataParseError extends ConnectorError {
  override name = 'MetadataParseError';
  /** Characters read before the problem. */
  readonly offset: number;

  constructor(message: string, offset: number) {
    super(`$metadata: ${message} (at character ${offset})`, { code: 'BAD_METADATA' });
    this.offset = offset;
  }
}

/** A tag the tokenizer reports. */
interface Tag {
  readonly kind: 'start' | 'end';
  /** Local name (prefix removed). */
  readonly name: string;
  readonly attributes: Readonly<Record<string, string>>;
  readonly selfClosing: boolean;
}

/** The longest single piece of markup accepted; bounds memory on a hostile or broken document. */
const MAX_MARKUP = 1 << 20;

const ENTITIES: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function decodeEntities(value: string): string {
  if (!value.includes('&')) return value;
  return value.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (whole, ref: string) => {
    if (ref.startsWith('#x')) return String.fromCodePoint(Number.parseInt(ref.slice(2), 16));
    if (ref.startsWith('#')) return String.fromCodePoint(Number.parseInt(ref.slice(1), 10));
    return ENTITIES[ref] ?? whole;
  });
}

const localName = (qname: string) => qname.slice(qname.indexOf(':') + 1);

const ATTRIBUTE = /([^\s=/>]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g;

/** A tag from the text between `<` (at `lt`) and `>` (just before `end`); attributes are parsed only when read. */
function parseTag(text: string, lt: number, end: number, offset: number): Tag {
  if (text.charCodeAt(lt + 1) === 47 /* / */) {
    return {
      kind: 'end',
      name: localName(text.slice(lt + 2, end - 1).trim()),
      attributes: {},
      selfClosing: false,
    };
  }
  const selfClosing = text.charCodeAt(end - 2) === 47;
  let nameEnd = lt + 1;
  for (; nameEnd < end - 1; nameEnd++) {
    const c = text.charCodeAt(nameEnd);
    if (c === 32 || c === 9 || c === 10 || c === 13 || c === 47 || c === 62) break;
  }
  if (nameEnd === lt + 1) throw new MetadataParseError('a tag without a name', offset);
  const name = localName(text.slice(lt + 1, nameEnd));
  let attributes: Record<string, string> | undefined;
  return {
    kind: 'start',
    name,
    selfClosing,
    // Parsed only when asked for: most tags of a large document belong to unwanted types.
    get attributes() {
      if (!attributes) {
        attributes = {};
        const body = text.slice(nameEnd, selfClosing ? end - 2 : end - 1);
        ATTRIBUTE.lastIndex = 0;
        for (let m = ATTRIBUTE.exec(body); m; m = ATTRIBUTE.exec(body)) {
          attributes[localName(m[1] as string)] = decodeEntities(m[2] ?? m[3] ?? '');
        }
      }
      return attributes;
    },
  };
}

const NO_ATTRIBUTES: Readonly<Record<string, string>> = Object.freeze({});

/** Tags whose attributes the reader always needs (others only inside a kept type or enum). */
const ATTRIBUTED = new Set(['Schema', 'EntityType', 'EnumType', 'EntitySet']);

/**
 * An incremental tokenizer: `write` text in any pieces, it calls `onTag` for every complete tag and
 * keeps at most one incomplete piece of markup between writes.
 */
function createTokenizer(onTag: (tag: Tag, offset: number) => void) {
  let buffer = '';
  let consumed = 0; // characters dropped from the front of the buffer so far
  // An incomplete construct is kept at the buffer's start; its scan resumes at `resumeAt` (inside a
  // quoted value when `quote` is set). Further text that cannot complete it waits in `tail`
  // unjoined, so a long construct is not copied again on every write.
  let resumeAt = 0;
  let quote = 0;
  let pending = ''; // '' (none), 'tag', or the closing string searched for ('-->', ']]>', '?>', '>')
  let tail: string[] = [];
  let tailLength = 0;
  let tailEnd = ''; // the last characters of the construct so far, for a closing string split across writes

  const terminated = (lt: number, open: string, close: string): number => {
    const from = Math.max(lt + open.length, resumeAt - close.length + 1);
    const at = buffer.indexOf(close, from);
    if (at >= 0) return at + close.length;
    resumeAt = buffer.length;
    pending = close;
    return -1;
  };

  /** The index just past the `>` ending the tag at `lt`, skipping quoted values; -1 if not yet here. */
  const tagEnd = (lt: number): number => {
    const resuming = lt === 0 && resumeAt > 0;
    let q = resuming ? quote : 0;
    for (let i = resuming ? resumeAt : lt + 1; i < buffer.length; i++) {
      const c = buffer.charCodeAt(i);
      if (q) {
        if (c === q) q = 0;
      } else if (c === 34 /* " */ || c === 39 /* ' */) {
        q = c;
      } else if (c === 62 /* > */) {
        return i + 1;
      }
    }
    resumeAt = buffer.length;
    quote = q;
    pending = 'tag';
    return -1;
  };

  /** Whether `text` completes the pending construct; if not, advances the resume state past it. */
  const completes = (text: string): boolean => {
    if (pending === 'tag') {
      let q = quote;
      for (let i = 0; i < text.length; i++) {
        const c = text.charCodeAt(i);
        if (q) {
          if (c === q) q = 0;
        } else if (c === 34 || c === 39) {
          q = c;
        } else if (c === 62) {
          return true;
        }
      }
      quote = q;
    } else {
      const around = tailEnd + text;
      if (around.includes(pending)) return true;
      tailEnd = around.slice(-(pending.length - 1) || around.length);
    }
    return false;
  };

  function scan(final: boolean) {
    let pos = 0;
    pending = '';
    for (;;) {
      const lt = buffer.indexOf('<', pos);
      if (lt < 0) {
        pos = buffer.length; // text content: ignored
        break;
      }
      if (lt > 0) resumeAt = 0;
      pos = lt;
      let end: number;
      let skip = true;
      if (buffer.length - lt < 9 && !final) {
        end = -1; // too short to tell a comment or CDATA from a tag yet
        pending = '';
      } else if (buffer.startsWith('<!--', lt)) {
        end = terminated(lt, '<!--', '-->');
      } else if (buffer.startsWith('<![CDATA[', lt)) {
        end = terminated(lt, '<![CDATA[', ']]>');
      } else if (buffer.startsWith('<?', lt)) {
        end = terminated(lt, '<?', '?>');
      } else if (buffer.startsWith('<!', lt)) {
        // DOCTYPE (without an internal subset: CSDL has none) or another declaration.
        end = terminated(lt, '<!', '>');
      } else {
        end = tagEnd(lt);
        skip = false;
      }
      if (end < 0) {
        // Incomplete: keep from '<' and wait for more (unless it is too long or the end has come).
        if (buffer.length - lt > MAX_MARKUP) {
          throw new MetadataParseError(
            `a piece of markup longer than ${MAX_MARKUP} characters`,
            consumed + lt,
          );
        }
        if (final) throw new MetadataParseError('the document ends inside a tag', consumed + lt);
        if (lt > 0) resumeAt = Math.max(0, resumeAt - lt);
        if (pending && pending !== 'tag') tailEnd = buffer.slice(-(pending.length - 1) || buffer.length);
        break;
      }
      resumeAt = 0;
      if (!skip) onTag(parseTag(buffer, lt, end, consumed + lt), consumed + lt);
      pos = end;
    }
    buffer = buffer.slice(pos);
    consumed += pos;
  }

  const join = () => {
    if (tail.length > 0) {
      buffer += tail.join('');
      tail = [];
      tailLength = 0;
    }
  };

  return {
    write(text: string) {
      if (pending) {
        if (!completes(text)) {
          tail.push(text);
          tailLength += text.length;
          resumeAt += text.length;
          if (buffer.length + tailLength > MAX_MARKUP) {
            throw new MetadataParseError(`a piece of markup longer than ${MAX_MARKUP} characters`, consumed);
          }
          return;
        }
        join();
      }
      buffer += text;
      scan(false);
    },
    end() {
      join();
      scan(true);
    },
  };
}

/** What to keep while reading. */
export interface CsdlWanted {
  /** The entity sets to keep. */
  readonly entitySets: readonly string[];
  /**
   * Entity type names (qualified or short) to keep besides those guessed from the set names. Entity
   * types usually come before the container that maps sets to them, so the reader keeps the types a
   * set is likely to use (F&O names the type after the singular of the set, e.g. CustomersV3 →
   * CustomerV3); {@link readCsdl} reads again with the exact names when a guess missed.
   */
  readonly entityTypes?: readonly string[] | undefined;
}

/**
 * The short names an entity set's type is likely to have: the set name and its singular forms.
 * UNCONFIRMED for every entity that F&O names types this way; a wrong guess costs a second read
 * ({@link readCsdl}), never a wrong answer.
 */
export function likelyTypeNames(set: string): string[] {
  const m = /^(.*?)(V\d+)?$/.exec(set) as RegExpExecArray;
  const base = m[1] as string;
  const version = m[2] ?? '';
  const singulars = new Set<string>([base]);
  if (base.endsWith('ies')) singulars.add(`${base.slice(0, -3)}y`);
  if (/(s|x|z|ch|sh)es$/.test(base)) singulars.add(base.slice(0, -2));
  if (base.endsWith('s')) singulars.add(base.slice(0, -1));
  return [...singulars].flatMap((s) => [`${s}${version}`, s]);
}

interface TypeDraft {
  key: string[];
  fields: Record<string, { type: string; nullable: boolean }>;
  /** The BaseType as written (its key and properties are inherited). */
  base: string | undefined;
}

/** Result of one pass: the model, and set types that were not kept (so a second pass is needed). */
export interface CsdlPass {
  readonly model: CsdlModel;
  /** Qualified entity type names that wanted sets use but this pass did not keep. */
  readonly missedTypes: readonly string[];
}

/**
 * A streaming reader for one pass over a document: feed it text (`write`), then `end()` for the
 * result. Split the input anywhere: tags, attribute values and multi-byte characters may straddle
 * writes (decode bytes with a streaming TextDecoder, as {@link readCsdlPass} does).
 */
export function createCsdlReader(wanted: CsdlWanted) {
  const wantedSets = new Set(wanted.entitySets);
  const typeNames = new Set<string>(wanted.entityTypes ?? []);
  for (const set of wanted.entitySets) for (const n of likelyTypeNames(set)) typeNames.add(n);

  const aliases = new Map<string, string>(); // alias → namespace
  const types = new Map<string, TypeDraft>(); // qualified name → draft
  const enumNames = new Set<string>(); // qualified names of every enum type (names only: small)
  const enumMembers = new Map<string, string[]>(); // members of enums a kept property uses
  const referenced = new Set<string>(); // qualified types of kept properties
  const sets = new Map<string, string>(); // wanted set → type as written
  const stack: string[] = [];
  let namespace = '';
  let currentType: TypeDraft | undefined;
  let currentEnum: string[] | undefined;
  let inKey = false;

  const tokenizer = createTokenizer((tag, offset) => {
    if (tag.kind === 'end') {
      const open = stack.pop();
      if (open !== tag.name) {
        throw new MetadataParseError(`</${tag.name}> closes <${open ?? 'nothing'}>`, offset);
      }
      if (tag.name === 'EntityType' || tag.name === 'ComplexType') currentType = undefined;
      else if (tag.name === 'EnumType') currentEnum = undefined;
      else if (tag.name === 'Key') inKey = false;
      else if (tag.name === 'Schema') namespace = '';
      return;
    }
    const parent = stack[stack.length - 1];
    const wanted =
      tag.name === 'Property' || tag.name === 'PropertyRef'
        ? currentType !== undefined
        : tag.name === 'Member'
          ? currentEnum !== undefined
          : ATTRIBUTED.has(tag.name);
    const a = wanted ? tag.attributes : NO_ATTRIBUTES;
    switch (tag.name) {
      case 'Schema':
        namespace = a.Namespace ?? '';
        if (a.Alias) aliases.set(a.Alias, namespace);
        break;
      case 'EntityType':
        if (parent === 'Schema' && a.Name !== undefined) {
          const qualified = `${namespace}.${a.Name}`;
          if (typeNames.has(a.Name) || typeNames.has(qualified)) {
            currentType = { key: [], fields: {}, base: a.BaseType };
            types.set(qualified, currentType);
          }
        }
        break;
      case 'Key':
        inKey = parent === 'EntityType';
        break;
      case 'PropertyRef':
        if (inKey && currentType && a.Name !== undefined) currentType.key.push(a.Name);
        break;
      case 'Property':
        if (parent === 'EntityType' && currentType && a.Name !== undefined) {
          currentType.fields[a.Name] = { type: a.Type ?? '', nullable: a.Nullable !== 'false' };
          if (a.Type && !a.Type.startsWith('Edm.')) referenced.add(qualify(a.Type));
        }
        break;
      case 'EnumType':
        if (parent === 'Schema' && a.Name !== undefined) {
          const qualified = `${namespace}.${a.Name}`;
          enumNames.add(qualified);
          // Members are kept for enums a kept property already uses (F&O lists entity types first);
          // an enum declared before its first use keeps its name only.
          currentEnum = referenced.has(qualified) ? [] : undefined;
          if (currentEnum) enumMembers.set(qualified, currentEnum);
        }
        break;
      case 'Member':
        if (parent === 'EnumType' && currentEnum && a.Name !== undefined) currentEnum.push(a.Name);
        break;
      case 'EntitySet':
        if (parent === 'EntityContainer' && a.Name !== undefined && wantedSets.has(a.Name)) {
          sets.set(a.Name, a.EntityType ?? '');
        }
        break;
      default:
        break;
    }
    if (!tag.selfClosing) stack.push(tag.name);
    else if (tag.name === 'EnumType') currentEnum = undefined;
  });

  const qualify = (name: string): string => {
    const dot = name.lastIndexOf('.');
    if (dot < 0) return name;
    const ns = name.slice(0, dot);
    return `${aliases.get(ns) ?? ns}${name.slice(dot)}`;
  };

  const normaliseType = (type: string): string => {
    if (type.startsWith('Edm.')) return type;
    const collection = /^Collection\((.*)\)$/.exec(type);
    if (collection) return `Collection(${normaliseType(collection[1] as string)})`;
    const qualified = qualify(type);
    return enumNames.has(qualified) ? `enum:${qualified.slice(qualified.lastIndexOf('.') + 1)}` : qualified;
  };

  return {
    write(text: string) {
      tokenizer.write(text);
    },
    end(): CsdlPass {
      tokenizer.end();
      if (stack.length > 0) {
        throw new MetadataParseError(`the document ends inside <${stack[stack.length - 1]}>`, -1);
      }
      const entitySets: Record<string, CsdlEntitySet> = {};
      const usedEnums = new Set<string>();
      const missedTypes: string[] = [];
      /** The type with its base types' key and properties (CSDL 4.0 §6.1.2); undefined if one was not kept. */
      const resolve = (qualified: string, depth = 0): TypeDraft | undefined => {
        const draft = types.get(qualified);
        if (!draft) {
          if (!missedTypes.includes(qualified)) missedTypes.push(qualified);
          return undefined;
        }
        if (!draft.base || depth > 8) return draft;
        const base = resolve(qualify(draft.base), depth + 1);
        if (!base) return undefined;
        return {
          key: base.key.length > 0 ? base.key : draft.key,
          fields: { ...base.fields, ...draft.fields },
          base: undefined,
        };
      };
      for (const [name, written] of sets) {
        const entityType = qualify(written);
        const draft = resolve(entityType);
        if (!draft) continue;
        const fields: Record<string, CsdlProperty> = {};
        for (const [field, p] of Object.entries(draft.fields)) {
          const type = normaliseType(p.type);
          if (type.startsWith('enum:')) usedEnums.add(qualify(p.type));
          fields[field] = { type, nullable: p.nullable };
        }
        entitySets[name] = { name, entityType, key: draft.key, fields };
      }
      const enums: Record<string, readonly string[]> = {};
      for (const qualified of usedEnums) {
        const members = enumMembers.get(qualified);
        if (members) enums[qualified.slice(qualified.lastIndexOf('.') + 1)] = members;
      }
      return { model: { entitySets, enums }, missedTypes };
    },
  };
}

/** Reads one pass over a byte stream (UTF-8). */
export async function readCsdlPass(
  chunks: AsyncIterable<Uint8Array | string>,
  wanted: CsdlWanted,
): Promise<CsdlPass> {
  const reader = createCsdlReader(wanted);
  const decoder = new TextDecoder('utf-8');
  for await (const chunk of chunks) {
    reader.write(typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true }));
  }
  reader.write(decoder.decode());
  return reader.end();
}

/**
 * Reads the wanted entity sets with `pass` (one read of the document, e.g. one GET streamed into
 * {@link readCsdlPass}). When an entity set's type was not among the guessed names, it reads the
 * document once more keeping exactly the missed types.
 */
export async function readCsdl(
  pass: (wanted: CsdlWanted) => Promise<CsdlPass>,
  wanted: CsdlWanted,
): Promise<CsdlModel> {
  const first = await pass(wanted);
  if (first.missedTypes.length === 0) return first.model;
  const second = await pass({
    entitySets: wanted.entitySets,
    entityTypes: [...(wanted.entityTypes ?? []), ...first.missedTypes],
  });
  return second.model;
}
