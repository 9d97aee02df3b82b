// Request validation for the HTTP app: ajv 8 compiles every route's JSON schema. Path and query parameters arrive
// as text and are coerced to the schema's types; bodies are JSON and are not coerced, so `"5"` for an integer is
// a 400 (a client sending the wrong type should hear it). Nothing is removed either: an extra field is an error.
import { Ajv, type ValidateFunction } from 'ajv';
import type { FastifySchemaCompiler } from 'fastify';

const common = { allErrors: true, useDefaults: true, removeAdditional: false, strict: false } as const;

export function createValidatorCompiler(): FastifySchemaCompiler<unknown> {
  const coercing = new Ajv({ ...common, coerceTypes: 'array' });
  const strict = new Ajv({ ...common, coerceTypes: false });
  for (const ajv of [coercing, strict]) {
    // OpenAPI 3.1 document keywords that carry no validation.
    ajv.addKeyword('example');
    ajv.addFormat('date-time', { type: 'string', validate: (s: string) => !Number.isNaN(Date.parse(s)) });
  }
  return ({ schema, httpPart }) => {
    const validate: ValidateFunction = (httpPart === 'body' ? strict : coercing).compile(schema as object);
    return validate as unknown as ReturnType<FastifySchemaCompiler<unknown>>;
  };
}
