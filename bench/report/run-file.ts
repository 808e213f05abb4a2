/**
 * Reading a saved run back. A file that is not a run (another JSON, a run of a newer schema, a
 * truncated write) is refused with one line naming what is wrong, rather than rendered into a
 * report full of holes or failing with a stack trace halfway.
 */
import type { BenchRun } from './types.js';

/** Why a file cannot be read as a run; the message is one line. */
export class RunFileError extends Error {}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function need(condition: boolean, what: string): void {
  if (!condition) throw new RunFileError(what);
}

/** The run in `text`, checked deep enough that every report can be rendered from it. */
export function parseBenchRun(text: string): BenchRun {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new RunFileError(`not JSON (${(err as Error).message.split('\n')[0]})`);
  }
  need(isObject(value), 'not a bench run: the top level is not an object');
  const run = value as Json;
  need(run.schema === 1, `not a bench run of schema 1 (schema is ${JSON.stringify(run.schema) ?? 'missing'})`);
  for (const field of ['startedAt', 'finishedAt', 'command'] as const) need(typeof run[field] === 'string', `${field} is missing or not a string`);
  need(isObject(run.machine), 'machine is missing');
  need(Array.isArray(run.targets), 'targets is missing or not a list');
  (run.targets as unknown[]).forEach((target, i) => {
    need(isObject(target), `targets[${i}] is not an object`);
    const t = target as Json;
    need(typeof t.target === 'string' && typeof t.label === 'string', `targets[${i}] has no target key or label`);
    need(t.role === 'subject' || t.role === 'peer' || t.role === 'bound', `targets[${i}].role is not subject, peer or bound`);
    need(Array.isArray(t.scenarios), `targets[${i}].scenarios is not a list`);
    (t.scenarios as unknown[]).forEach((scenario, j) => {
      const where = `targets[${i}].scenarios[${j}]`;
      need(isObject(scenario), `${where} is not an object`);
      const s = scenario as Json;
      need(typeof s.scenario === 'string', `${where} has no scenario name`);
      need(isObject(s.params), `${where}.params is missing`);
      for (const list of ['headline', 'timeline', 'percentiles'] as const) need(Array.isArray(s[list]), `${where}.${list} is not a list`);
      need(isObject(s.correctness), `${where}.correctness is missing`);
    });
  });
  return value as BenchRun;
}
