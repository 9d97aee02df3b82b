// Request validation for the HTTP app: ajv 8 compiles every route's JSON schema. Path and query parameters arrive
// as text and are converted here, strictly, to the schema's types: an integer is decimal digits (ajv's own
// coercion would take "0x10", " 5" and "1e3"), a boolean is true or false, and a repeated parameter is an array,
// which a scalar refuses. Bodies are JSON and are not coerced, so `"5"` for an integer is a 400 (a client sending
// the wrong type should hear it). Nothing is removed either: an extra field is an error.
import { Ajv, type ValidateFunction } from 'ajv';
import type { FastifySchemaCompiler } from 'fastify';

const common = { allErrors: true, useDefaults: true, removeAdditional: false, strict: false } as const;

type Json = Record<string, unknown>;

const INTEGER = /^-?(0|[1-9][0-9]*)$/;
const NUMBER = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?$/;

/** The text of a parameter as the schema's scalar type, or the text unchanged for ajv to refuse. */
function fromText(text: string, type: unknown): unknown {
  if (type === 'integer' && INTEGER.test(text)) return Number(text);
  if (type === 'number' && NUMBER.test(text)) return Number(text);
  if (type === 'boolean' && (text === 'true' || text === 'false')) return text === 'true';
  return text;
}

/** Converts the text values of a flat parameter object (query or path) in place, property by property. */
function textConverter(schema: Json): (data: unknown) => void {
  const props = Object.entries((schema.properties ?? {}) as Record<string, Json>);
  return (data) => {
    if (typeof data !== 'object' || data === null) return;
    const obj = data as Record<string, unknown>;
    for (const [name, prop] of props) {
      const value = obj[name];
      if (prop.type === 'array') {
        const itemType = (prop.items as Json | undefined)?.type;
        const list = typeof value === 'string' ? [value] : value;
        if (Array.isArray(list)) obj[name] = list.map((v) => (typeof v === 'string' ? fromText(v, itemType) : v));
      } else if (typeof value === 'string') {
        obj[name] = fromText(value, prop.type);
      }
    }
  };
}

export function createValidatorCompiler(): FastifySchemaCompiler<unknown> {
  const ajv = new Ajv({ ...common, coerceTypes: false });
  // OpenAPI 3.1 document keywords that carry no validation.
  ajv.addKeyword('example');
  ajv.addFormat('date-time', { type: 'string', validate: (s: string) => !Number.isNaN(Date.parse(s)) });
  return ({ schema, httpPart }) => {
    const validate: ValidateFunction = ajv.compile(schema as object);
    if (httpPart === 'body') return validate as unknown as ReturnType<FastifySchemaCompiler<unknown>>;
    const convert = textConverter(schema as Json);
    const checked = (data: unknown) => {
      convert(data);
      return validate(data);
    };
    // fastify reads the problems from the function it was given.
    Object.defineProperty(checked, 'errors', { get: () => validate.errors });
    return checked as unknown as ReturnType<FastifySchemaCompiler<unknown>>;
  };
}
