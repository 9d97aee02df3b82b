// validateCommandParams: the registry's schema check, run by the sender before signing and by the device
// before executing ("validated twice"). The device also runs the command's stateful `check`.
import type { Issue } from '../schema.js';
import { commandSpec, type DeviceState } from './registry.js';
import { parseParamPairs } from './params.js';

export type ParamsResult =
  | { readonly ok: true; readonly params: Record<string, unknown>; readonly issues: readonly [] }
  | { readonly ok: false; readonly issues: readonly Issue[]; readonly unknownCommand: boolean };

/** Checks `params` against the schema of command `name`. Never throws, whatever `params` holds. */
export function validateCommandParams(name: string, params: unknown): ParamsResult {
  const spec = commandSpec(name);
  if (!spec)
    return {
      ok: false,
      unknownCommand: true,
      issues: [{ path: 'command', message: `unknown command ${JSON.stringify(String(name).slice(0, 64))}` }],
    };
  const issues: Issue[] = [];
  const value = spec.params.check(params, 'params', issues);
  return issues.length === 0 ? { ok: true, params: value, issues: [] } : { ok: false, unknownCommand: false, issues };
}

/** The schema check plus the command's stateful rule against the device's state (device side only). */
export function validateOnDevice(name: string, params: unknown, state: DeviceState): ParamsResult {
  const r = validateCommandParams(name, params);
  if (!r.ok) return r;
  const issues = commandSpec(name)!.check?.(r.params, state) ?? [];
  return issues.length === 0 ? r : { ok: false, unknownCommand: false, issues };
}

/** Parses `--param k=v` strings (typed by the registry) and validates them: what `fleet cmd send` needs. */
export function parseCommandParams(name: string, pairs: readonly string[]): ParamsResult {
  const spec = commandSpec(name);
  if (!spec) return validateCommandParams(name, {});
  const parsed = parseParamPairs(spec.fields, pairs);
  const r = validateCommandParams(name, parsed.params);
  if (parsed.issues.length === 0) return r;
  return { ok: false, unknownCommand: false, issues: [...parsed.issues, ...(r.ok ? [] : r.issues)] };
}
