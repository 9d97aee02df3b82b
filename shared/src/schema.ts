// A small, strict schema validator: every problem is collected with its path, unknown keys are refused,
// numbers must be finite. Used for wire messages, command parameters and config files alike.

export interface Issue {
  readonly path: string;
  readonly message: string;
}

export interface Schema<T> {
  /** Validates `value`, pushing every problem to `issues`; returns the (possibly defaulted) value. */
  check(value: unknown, path: string, issues: Issue[]): T;
  /** A short description used in error messages and generated docs. */
  readonly describe: string;
  readonly optional?: boolean;
}

export type Infer<S> = S extends Schema<infer T> ? T : never;

export type Result<T> = { ok: true; value: T } | { ok: false; issues: Issue[] };

export function validate<T>(schema: Schema<T>, value: unknown): Result<T> {
  const issues: Issue[] = [];
  const out = schema.check(value, '', issues);
  return issues.length === 0 ? { ok: true, value: out } : { ok: false, issues };
}

export function formatIssues(issues: readonly Issue[]): string {
  return issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ');
}

/** "invalid WHAT (N problems):" followed by one indented line per problem, for configuration errors. */
export function listIssues(what: string, issues: readonly Issue[]): string {
  const lines = issues.map((i) => `  - ${i.path || '(root)'}: ${i.message}`).join('\n');
  return `invalid ${what} (${issues.length} problem${issues.length === 1 ? '' : 's'}):\n${lines}`;
}

const at = (path: string, key: string | number) =>
  typeof key === 'number' ? `${path}[${key}]` : path ? `${path}.${key}` : key;

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (v instanceof Uint8Array) return 'bytes';
  if (typeof v === 'number' && Number.isNaN(v)) return 'NaN';
  return typeof v;
}

export interface NumberOpts {
  readonly min?: number;
  readonly max?: number;
}

function numberSchema(kind: 'integer' | 'number', opts: NumberOpts): Schema<number> {
  const range = `${opts.min ?? '-∞'}..${opts.max ?? '∞'}`;
  return {
    describe: `${kind} ${range}`,
    check(v, path, issues) {
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        issues.push({ path, message: `expected a finite ${kind}, got ${typeName(v)}` });
        return 0;
      }
      if (kind === 'integer' && !Number.isSafeInteger(v)) {
        issues.push({ path, message: `expected an integer, got ${v}` });
        return 0;
      }
      if ((opts.min !== undefined && v < opts.min) || (opts.max !== undefined && v > opts.max)) {
        issues.push({ path, message: `${v} is outside ${range}` });
      }
      return v;
    },
  };
}

export const int = (opts: NumberOpts = {}) => numberSchema('integer', opts);
export const num = (opts: NumberOpts = {}) => numberSchema('number', opts);

export interface StringOpts {
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly pattern?: RegExp;
}

export function str(opts: StringOpts = {}): Schema<string> {
  const max = opts.maxLength ?? 1024;
  return {
    describe: `string${opts.pattern ? ` matching ${opts.pattern}` : ''}`,
    check(v, path, issues) {
      if (typeof v !== 'string') {
        issues.push({ path, message: `expected a string, got ${typeName(v)}` });
        return '';
      }
      if (v.length > max) issues.push({ path, message: `longer than ${max} characters` });
      else if (opts.minLength !== undefined && v.length < opts.minLength) {
        issues.push({ path, message: `shorter than ${opts.minLength} characters` });
      } else if (opts.pattern && !opts.pattern.test(v)) {
        issues.push({ path, message: `${JSON.stringify(v.slice(0, 64))} does not match ${opts.pattern}` });
      }
      return v;
    },
  };
}

export function bool(): Schema<boolean> {
  return {
    describe: 'boolean',
    check(v, path, issues) {
      if (typeof v !== 'boolean') issues.push({ path, message: `expected a boolean, got ${typeName(v)}` });
      return v === true;
    },
  };
}

export function literal<const T extends string | number | boolean>(value: T): Schema<T> {
  return {
    describe: JSON.stringify(value),
    check(v, path, issues) {
      if (v !== value)
        issues.push({
          path,
          message: `expected ${JSON.stringify(value)}, got ${JSON.stringify(v)?.slice(0, 40) ?? typeName(v)}`,
        });
      return value;
    },
  };
}

export function oneOf<const T extends readonly (string | number)[]>(values: T): Schema<T[number]> {
  const set = new Set<unknown>(values);
  return {
    describe: `one of ${values.join(' | ')}`,
    check(v, path, issues) {
      if (!set.has(v))
        issues.push({
          path,
          message: `expected one of ${values.join(', ')}, got ${JSON.stringify(v)?.slice(0, 40) ?? typeName(v)}`,
        });
      return v as T[number];
    },
  };
}

export function bytes(opts: { minLength?: number; maxLength: number }): Schema<Uint8Array> {
  return {
    describe: `bytes (≤ ${opts.maxLength})`,
    check(v, path, issues) {
      if (!(v instanceof Uint8Array)) {
        issues.push({ path, message: `expected a byte string, got ${typeName(v)}` });
        return new Uint8Array(0);
      }
      if (v.length > opts.maxLength) issues.push({ path, message: `longer than ${opts.maxLength} bytes` });
      if (opts.minLength !== undefined && v.length < opts.minLength)
        issues.push({ path, message: `shorter than ${opts.minLength} bytes` });
      return v;
    },
  };
}

export function array<T>(item: Schema<T>, opts: { minItems?: number; maxItems: number }): Schema<T[]> {
  return {
    describe: `array of ${item.describe}`,
    check(v, path, issues) {
      if (!Array.isArray(v)) {
        issues.push({ path, message: `expected an array, got ${typeName(v)}` });
        return [];
      }
      if (v.length > opts.maxItems) {
        issues.push({ path, message: `${v.length} items; at most ${opts.maxItems} allowed` });
        return [];
      }
      if (opts.minItems !== undefined && v.length < opts.minItems) {
        issues.push({ path, message: `${v.length} items; at least ${opts.minItems} required` });
      }
      return v.map((x, i) => item.check(x, at(path, i), issues));
    },
  };
}

/** A map with arbitrary keys matching `keyPattern`, each value checked by `value`. */
export function record<T>(keyPattern: RegExp, value: Schema<T>, opts: { maxKeys: number }): Schema<Record<string, T>> {
  return {
    describe: `map of ${keyPattern} → ${value.describe}`,
    check(v, path, issues) {
      if (!isPlainObject(v)) {
        issues.push({ path, message: `expected a map, got ${typeName(v)}` });
        return {};
      }
      const keys = Object.keys(v);
      if (keys.length > opts.maxKeys) {
        issues.push({ path, message: `${keys.length} keys; at most ${opts.maxKeys} allowed` });
        return {};
      }
      const out: Record<string, T> = Object.create(null);
      for (const k of keys) {
        if (!keyPattern.test(k)) issues.push({ path: at(path, k), message: `key does not match ${keyPattern}` });
        else out[k] = value.check(v[k], at(path, k), issues);
      }
      return out;
    },
  };
}

export function optional<T>(schema: Schema<T>): Schema<T | undefined> {
  return {
    describe: `${schema.describe} (optional)`,
    optional: true,
    check: (v, p, i) => (v === undefined ? undefined : schema.check(v, p, i)),
  };
}

/** Uses `value` when the key is absent; the default goes through the schema too, so nested defaults apply. */
export function withDefault<T>(schema: Schema<T>, value: NoInfer<T> | Record<string, never>): Schema<T> {
  return {
    describe: `${schema.describe} (default ${JSON.stringify(value)})`,
    optional: true,
    check: (v, p, i) => schema.check(v === undefined ? value : v, p, i),
  };
}

export function nullable<T>(schema: Schema<T>): Schema<T | null> {
  return { describe: `${schema.describe} or null`, check: (v, p, i) => (v === null ? null : schema.check(v, p, i)) };
}

type Shape = Record<string, Schema<unknown>>;
type OptionalKeys<S extends Shape> = {
  [K in keyof S]: S[K] extends { optional: true } ? K : undefined extends Infer<S[K]> ? K : never;
}[keyof S];
export type ObjectOf<S extends Shape> = { [K in Exclude<keyof S, OptionalKeys<S>>]: Infer<S[K]> } & {
  [K in OptionalKeys<S>]?: Exclude<Infer<S[K]>, undefined>;
};

/** An object with exactly these keys: missing required keys and unknown keys are both reported. */
export function object<S extends Shape>(shape: S): Schema<ObjectOf<S>> {
  const keys = Object.keys(shape);
  return {
    describe: `{ ${keys.join(', ')} }`,
    check(v, path, issues) {
      if (!isPlainObject(v)) {
        issues.push({ path, message: `expected a map, got ${typeName(v)}` });
        return {} as ObjectOf<S>;
      }
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(v)) {
        if (!Object.hasOwn(shape, k)) issues.push({ path: at(path, k), message: 'unknown key' });
      }
      for (const k of keys) {
        const s = shape[k]!;
        const present = Object.hasOwn(v, k) && v[k] !== undefined;
        if (!present && !s.optional) {
          issues.push({ path: at(path, k), message: `required (${s.describe})` });
          continue;
        }
        const value = s.check(present ? v[k] : undefined, at(path, k), issues);
        if (value !== undefined) out[k] = value;
      }
      return out as ObjectOf<S>;
    },
  };
}

/** Accepts whichever branch matches the discriminating key `tag`. */
export function tagged<K extends string, M extends Record<string, Schema<unknown>>>(
  tag: K,
  branches: M,
): Schema<Infer<M[keyof M]>> {
  const names = Object.keys(branches);
  return {
    describe: `one of ${names.join(' | ')} by ${tag}`,
    check(v, path, issues) {
      const t = isPlainObject(v) ? v[tag] : undefined;
      const branch = typeof t === 'string' && Object.hasOwn(branches, t) ? branches[t] : undefined;
      if (!branch) {
        issues.push({ path: at(path, tag), message: `expected one of ${names.join(', ')}` });
        return undefined as Infer<M[keyof M]>;
      }
      return branch.check(v, path, issues) as Infer<M[keyof M]>;
    },
  };
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}
