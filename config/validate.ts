/**
 * Checks one raw configuration value against its schema row.
 *
 * Values from YAML arrive typed; values from the environment and from CLI flags arrive as
 * text, so `fromText` lets "8080" stand for 8080 and "true" for true. Nothing else is coerced:
 * a quoted "8080" in a YAML file is refused, because the file could have said what it meant.
 */

import type { FieldSpec } from './schema.js';

export type CheckResult = { ok: true; value: unknown } | { ok: false; rule: string };

const INTEGER_TEXT = /^[+-]?\d+$/;
const TRUE_TEXT = new Set(['true', '1', 'yes', 'on']);
const FALSE_TEXT = new Set(['false', '0', 'no', 'off']);

export function checkValue(spec: FieldSpec, raw: unknown, fromText: boolean): CheckResult {
  const refused: CheckResult = { ok: false, rule: describeRule(spec) };
  switch (spec.type) {
    case 'int': {
      const n = fromText && typeof raw === 'string' && INTEGER_TEXT.test(raw.trim()) ? Number(raw.trim()) : raw;
      if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < spec.min || n > spec.max) return refused;
      return { ok: true, value: n };
    }
    case 'boolean': {
      if (typeof raw === 'boolean') return { ok: true, value: raw };
      if (fromText && typeof raw === 'string') {
        const word = raw.trim().toLowerCase();
        if (TRUE_TEXT.has(word)) return { ok: true, value: true };
        if (FALSE_TEXT.has(word)) return { ok: true, value: false };
      }
      return refused;
    }
    case 'enum':
      return typeof raw === 'string' && spec.values.includes(raw) ? { ok: true, value: raw } : refused;
    case 'string':
      if (typeof raw !== 'string') return refused;
      if (raw === '') return spec.allowEmpty ? { ok: true, value: raw } : refused;
      return spec.pattern === undefined || spec.pattern.test(raw) ? { ok: true, value: raw } : refused;
  }
}

/** What a valid value looks like, phrased to follow "must be". */
export function describeRule(spec: FieldSpec): string {
  switch (spec.type) {
    case 'int':
      return `an integer from ${spec.min} to ${spec.max}`;
    case 'boolean':
      return 'true or false';
    case 'enum':
      return `one of ${spec.values.join(', ')}`;
    case 'string': {
      const base = spec.pattern === undefined ? 'a non-empty string' : `a string of ${spec.patternText ?? spec.pattern.source}`;
      return spec.allowEmpty ? `${base}, or empty` : base;
    }
  }
}

/** A raw value as it should appear in an error message: strings quoted, the rest as JSON. */
export function showValue(raw: unknown): string {
  if (raw === undefined) return 'nothing';
  const shown = JSON.stringify(raw) ?? String(raw);
  return shown.length > 60 ? `${shown.slice(0, 57)}...` : shown;
}
