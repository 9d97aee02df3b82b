// Command parameter fields: one declarative spec per field, turned into a strict Schema (unknown keys refused,
// numbers finite and in range) and into a parser for the `--param k=v` strings of `fleet cmd send`.
import { bool, int, num, object, oneOf, str, type Issue, type Schema } from '../schema.js';

export type ParamSpec =
  | {
      readonly type: 'integer';
      readonly min: number;
      readonly max: number;
      readonly unit?: string;
      readonly description: string;
    }
  | {
      readonly type: 'number';
      readonly min: number;
      readonly max: number;
      readonly unit?: string;
      readonly description: string;
    }
  | { readonly type: 'enum'; readonly values: readonly string[]; readonly description: string }
  | { readonly type: 'string'; readonly pattern: RegExp; readonly maxLength: number; readonly description: string }
  | { readonly type: 'boolean'; readonly description: string };

export type ParamFields = Readonly<Record<string, ParamSpec>>;

function fieldSchema(spec: ParamSpec): Schema<unknown> {
  switch (spec.type) {
    case 'integer':
      return int({ min: spec.min, max: spec.max });
    case 'number':
      return num({ min: spec.min, max: spec.max });
    case 'enum':
      return oneOf(spec.values);
    case 'string':
      return str({ pattern: spec.pattern, maxLength: spec.maxLength });
    case 'boolean':
      return bool();
    default:
      throw new TypeError(`unknown parameter type ${JSON.stringify((spec as { type: unknown }).type)}`);
  }
}

/** The strict object schema of a command's parameters: every field required, nothing else allowed. */
export function paramsSchema<T>(fields: ParamFields): Schema<T> {
  const shape: Record<string, Schema<unknown>> = {};
  for (const [k, spec] of Object.entries(fields)) shape[k] = fieldSchema(spec);
  return object(shape) as unknown as Schema<T>;
}

/** Converts one `k=v` text value to the field's type; the schema still decides whether it is in range. */
export function coerceParam(spec: ParamSpec, text: string): unknown {
  switch (spec.type) {
    case 'integer':
    case 'number':
      // Number('') is 0 and Number(' 1') is 1: refuse anything that is not a plain decimal literal.
      return /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(text) ? Number(text) : text;
    case 'boolean':
      return text === 'true' ? true : text === 'false' ? false : text;
    case 'enum':
    case 'string':
      return text;
    default:
      return text;
  }
}

/** Parses `k=v` pairs against `fields`; unknown keys and repeats are issues, never silently dropped. */
export function parseParamPairs(
  fields: ParamFields,
  pairs: readonly string[],
): { params: Record<string, unknown>; issues: Issue[] } {
  const params: Record<string, unknown> = {};
  const issues: Issue[] = [];
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) {
      issues.push({ path: 'params', message: `${JSON.stringify(pair.slice(0, 64))} is not of the form key=value` });
      continue;
    }
    const key = pair.slice(0, eq);
    const spec = Object.hasOwn(fields, key) ? fields[key] : undefined;
    if (!spec) {
      issues.push({
        path: `params.${key.slice(0, 64)}`,
        message: `unknown parameter; expected ${Object.keys(fields).join(', ') || 'none'}`,
      });
      continue;
    }
    if (Object.hasOwn(params, key)) {
      issues.push({ path: `params.${key}`, message: 'given more than once' });
      continue;
    }
    params[key] = coerceParam(spec, pair.slice(eq + 1));
  }
  return { params, issues };
}

/** One line per field, for help texts and docs/commands.md. */
export function describeParam(name: string, spec: ParamSpec): string {
  switch (spec.type) {
    case 'integer':
    case 'number':
      return `${name}: ${spec.type} ${spec.min}–${spec.max}${spec.unit ? ` ${spec.unit}` : ''} — ${spec.description}`;
    case 'enum':
      return `${name}: ${spec.values.join(' | ')} — ${spec.description}`;
    case 'string':
      return `${name}: string matching ${spec.pattern} (≤ ${spec.maxLength}) — ${spec.description}`;
    case 'boolean':
      return `${name}: true | false — ${spec.description}`;
    default:
      return name;
  }
}
