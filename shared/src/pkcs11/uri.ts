// RFC 7512 PKCS#11 URIs: a strict parser that percent-decodes every value and reports every problem at once.
import { Pkcs11Error } from './errors.js';

/** What an object's `type` attribute may say (RFC 7512 §2.3). */
export type Pkcs11ObjectType = 'public' | 'private' | 'cert' | 'secret-key' | 'data';

export interface Pkcs11Uri {
  /** Token attributes, matched against CK_TOKEN_INFO (RFC 7512 §2.3). */
  readonly token?: string;
  readonly manufacturer?: string;
  readonly serial?: string;
  readonly model?: string;
  /** The object's CKA_LABEL. */
  readonly object?: string;
  /** The object's CKA_ID, as raw bytes. */
  readonly id?: Uint8Array;
  readonly type?: Pkcs11ObjectType;
  readonly slotId?: number;
  readonly modulePath?: string;
  /** RFC 7512's module-name; parsed, but opening a key needs module-path. */
  readonly moduleName?: string;
  /** `file:` path of a file holding the PIN (the only pin-source scheme accepted). */
  readonly pinSource?: string;
  readonly pinValue?: string;
  /** Vendor-specific attributes (RFC 7512 §2.3 allows them; the key code refuses what it cannot honour). */
  readonly vendor: Readonly<Record<string, string>>;
}

const SCHEME = 'pkcs11:';
/** A URI longer than this is refused before parsing: no real token needs more. */
export const MAX_URI_LENGTH = 4096;
const TYPES: readonly string[] = ['public', 'private', 'cert', 'secret-key', 'data'];
// RFC 7512 §2.3: pk11-unreserved plus the reserved characters each component allows unencoded.
const PATH_CHARS = /^[%A-Za-z0-9\-._~:[\]@!$'()*+,=&]*$/;
const QUERY_CHARS = /^[%A-Za-z0-9\-._~:[\]@!$'()*+,=/?|]*$/;
const NAME = /^[a-z0-9][a-z0-9\-._]*$/;
// Path attributes this parser knows; the library-* and slot-description ones are accepted and ignored.
const PATH_ATTRS = new Set([
  'token',
  'manufacturer',
  'serial',
  'model',
  'object',
  'id',
  'type',
  'slot-id',
  'slot-description',
  'slot-manufacturer',
  'library-manufacturer',
  'library-description',
  'library-version',
]);
const QUERY_ATTRS = new Set(['pin-source', 'pin-value', 'module-name', 'module-path']);

export function isPkcs11Uri(text: string): boolean {
  return text.slice(0, SCHEME.length).toLowerCase() === SCHEME;
}

/** Decodes %XX escapes into bytes; undefined when an escape is malformed. */
function percentDecode(raw: string): Uint8Array | undefined {
  const out: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c !== 0x25) {
      out.push(c);
      continue;
    }
    const hex = raw.slice(i + 1, i + 3);
    if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return undefined;
    out.push(Number.parseInt(hex, 16));
    i += 2;
  }
  return Uint8Array.from(out);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Parses an RFC 7512 URI. Every attribute may appear once; values are percent-decoded, text values must be valid
 * UTF-8, `id` stays bytes. Throws PKCS11_URI_INVALID listing every problem (never the PIN).
 */
export function parsePkcs11Uri(text: string): Pkcs11Uri {
  if (!isPkcs11Uri(text)) throw invalid(['it does not start with "pkcs11:"']);
  if (text.length > MAX_URI_LENGTH) throw invalid([`it is longer than ${MAX_URI_LENGTH} characters`]);
  const problems: string[] = [];
  const rest = text.slice(SCHEME.length);
  const q = rest.indexOf('?');
  const path = q < 0 ? rest : rest.slice(0, q);
  const query = q < 0 ? undefined : rest.slice(q + 1);
  const values = new Map<string, Uint8Array>();
  const vendor: Record<string, string> = {};

  const take = (part: string, sep: string, chars: RegExp, known: Set<string>, where: string) => {
    if (part === '') return;
    for (const attr of part.split(sep)) {
      const eq = attr.indexOf('=');
      const name = eq < 0 ? attr : attr.slice(0, eq);
      if (eq < 0) {
        problems.push(`${where} attribute "${name}" has no "=value"`);
        continue;
      }
      const raw = attr.slice(eq + 1);
      if (!NAME.test(name)) {
        problems.push(`${where} attribute name "${name}" is not a valid name`);
        continue;
      }
      const isVendor = !PATH_ATTRS.has(name) && !QUERY_ATTRS.has(name);
      if (!isVendor && !known.has(name)) {
        problems.push(`"${name}" belongs in the ${where === 'path' ? 'query' : 'path'}`);
        continue;
      }
      if (!chars.test(raw)) {
        problems.push(`${name}: characters outside RFC 7512's ${where} set must be percent-encoded`);
        continue;
      }
      const bytes = percentDecode(raw);
      if (bytes === undefined) {
        problems.push(`${name}: a "%" is not followed by two hex digits`);
        continue;
      }
      if (values.has(name) || name in vendor) {
        problems.push(`"${name}" is given more than once`);
        continue;
      }
      if (isVendor) {
        const s = decodeText(name, bytes, problems);
        if (s !== undefined) vendor[name] = s;
      } else values.set(name, bytes);
    }
  };
  take(path, ';', PATH_CHARS, PATH_ATTRS, 'path');
  if (query !== undefined) take(query, '&', QUERY_CHARS, QUERY_ATTRS, 'query');

  const textOf = (name: string): string | undefined => {
    const b = values.get(name);
    return b === undefined ? undefined : decodeText(name, b, problems);
  };
  const uri: { -readonly [K in keyof Pkcs11Uri]: Pkcs11Uri[K] } = { vendor };
  for (const [name, key] of [
    ['token', 'token'],
    ['manufacturer', 'manufacturer'],
    ['serial', 'serial'],
    ['model', 'model'],
    ['object', 'object'],
    ['module-path', 'modulePath'],
    ['module-name', 'moduleName'],
    ['pin-value', 'pinValue'],
  ] as const) {
    const v = textOf(name);
    if (v !== undefined) uri[key] = v;
  }
  const id = values.get('id');
  if (id !== undefined) uri.id = id;
  const type = textOf('type');
  if (type !== undefined) {
    if (TYPES.includes(type)) uri.type = type as Pkcs11ObjectType;
    else problems.push(`type must be one of ${TYPES.join(', ')}, not "${type}"`);
  }
  const slot = textOf('slot-id');
  if (slot !== undefined) {
    if (/^[0-9]{1,10}$/.test(slot) && Number(slot) <= 0xffffffff) uri.slotId = Number(slot);
    else problems.push('slot-id must be a decimal number');
  }
  const pinSource = textOf('pin-source');
  if (pinSource !== undefined) {
    if (!pinSource.startsWith('file:')) problems.push('pin-source must be a "file:" path');
    else {
      const file = pinSource.slice('file:'.length).replace(/^\/\/(?=\/)/, '');
      if (!file.startsWith('/')) problems.push('pin-source must name an absolute path (file:/etc/edgeward/pin)');
      else uri.pinSource = file;
    }
  }
  if (uri.pinSource !== undefined && uri.pinValue !== undefined)
    problems.push('give pin-source or pin-value, not both');
  if (uri.modulePath !== undefined && !uri.modulePath.startsWith('/'))
    problems.push('module-path must be an absolute path');
  if (problems.length > 0) throw invalid(problems);
  return Object.freeze(uri);
}

function decodeText(name: string, bytes: Uint8Array, problems: string[]): string | undefined {
  try {
    const s = utf8.decode(bytes);
    if ([...s].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)) {
      problems.push(`${name} holds a control character`);
      return undefined;
    }
    return s;
  } catch {
    problems.push(`${name} is not valid UTF-8 once percent-decoded`);
    return undefined;
  }
}

function invalid(problems: string[]): Pkcs11Error {
  return new Pkcs11Error('PKCS11_URI_INVALID', `not a usable PKCS#11 URI: ${problems.join('; ')}`, {
    details: { problems },
  });
}
