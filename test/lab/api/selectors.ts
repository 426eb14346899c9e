/**
 * Label and field selectors as the Kubernetes API parses them from `labelSelector=` and `fieldSelector=`.
 */
import { badRequest } from './status.ts';

/** One parsed label requirement. */
export type LabelRequirement =
  | { op: 'eq'; key: string; value: string }
  | { op: 'neq'; key: string; value: string }
  | { op: 'in'; key: string; values: string[] }
  | { op: 'notin'; key: string; values: string[] }
  | { op: 'exists'; key: string }
  | { op: 'notexists'; key: string };

/** One parsed field requirement. */
export interface FieldRequirement {
  field: string;
  op: 'eq' | 'neq';
  value: string;
}

const labelKeyPattern = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const labelValuePattern = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** Splits on commas that are not inside parentheses. */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else current += ch;
  }
  parts.push(current);
  return parts;
}

function checkKey(key: string, selector: string): string {
  if (!labelKeyPattern.test(key)) throw badRequest(`unable to parse requirement: invalid label key "${key}" in selector "${selector}"`);
  return key;
}

function checkValue(value: string, selector: string): string {
  if (!labelValuePattern.test(value) || value.length > 63) {
    throw badRequest(`unable to parse requirement: invalid label value: "${value}" in selector "${selector}"`);
  }
  return value;
}

/** Parses a label selector string; an empty string selects everything. Throws 400 BadRequest on syntax errors. */
export function parseLabelSelector(selector: string): LabelRequirement[] {
  if (selector.trim() === '') return [];
  return splitTopLevel(selector).map((raw): LabelRequirement => {
    const part = raw.trim();
    const setMatch = /^(\S+)\s+(in|notin)\s*\((.*)\)$/.exec(part);
    if (setMatch) {
      const [, key = '', op, list = ''] = setMatch;
      const values = list.split(',').map((v) => checkValue(v.trim(), selector));
      return { op: op === 'in' ? 'in' : 'notin', key: checkKey(key, selector), values };
    }
    const opMatch = /^([^=!\s]+)\s*(==|=|!=)\s*(.*)$/.exec(part);
    if (opMatch) {
      const [, key = '', op, value = ''] = opMatch;
      const req = { key: checkKey(key, selector), value: checkValue(value.trim(), selector) };
      return op === '!=' ? { op: 'neq', ...req } : { op: 'eq', ...req };
    }
    if (part.startsWith('!')) return { op: 'notexists', key: checkKey(part.slice(1).trim(), selector) };
    if (part === '') throw badRequest(`unable to parse requirement: found '', expected: identifier in selector "${selector}"`);
    return { op: 'exists', key: checkKey(part, selector) };
  });
}

/** Whether labels satisfy every requirement. */
export function matchesLabels(reqs: readonly LabelRequirement[], labels: Readonly<Record<string, string>> | undefined): boolean {
  const l = labels ?? {};
  return reqs.every((req) => {
    const has = Object.hasOwn(l, req.key);
    const value = l[req.key];
    switch (req.op) {
      case 'eq':
        return has && value === req.value;
      case 'neq':
        return !has || value !== req.value;
      case 'in':
        return has && req.values.includes(value ?? '');
      case 'notin':
        return !has || !req.values.includes(value ?? '');
      case 'exists':
        return has;
      case 'notexists':
        return !has;
      default: {
        const never: never = req;
        throw new Error(`unknown requirement ${JSON.stringify(never)}`);
      }
    }
  });
}

/** The fields every resource supports in field selectors, plus per-resource extras. */
const fieldsByResource: Record<string, string[]> = {
  pods: ['spec.nodeName', 'status.phase', 'spec.restartPolicy', 'spec.schedulerName', 'spec.serviceAccountName', 'status.podIP'],
  events: ['involvedObject.kind', 'involvedObject.namespace', 'involvedObject.name', 'involvedObject.uid', 'reason', 'type'],
  services: ['spec.clusterIP', 'spec.type'],
  namespaces: ['status.phase'],
};

/** Parses a field selector for a resource; unsupported fields are 400 BadRequest like the real API. */
export function parseFieldSelector(resource: string, selector: string): FieldRequirement[] {
  if (selector.trim() === '') return [];
  const allowed = new Set(['metadata.name', 'metadata.namespace', ...(fieldsByResource[resource] ?? [])]);
  return selector.split(',').map((raw) => {
    const part = raw.trim();
    const m = /^([^=!\s]+)\s*(==|=|!=)\s*(.*)$/.exec(part);
    if (!m) throw badRequest(`invalid selector: '${selector}'; can't understand '${part}'`);
    const [, field = '', op, value = ''] = m;
    if (!allowed.has(field)) throw badRequest(`field label not supported: ${field}`);
    return { field, op: op === '!=' ? 'neq' : 'eq', value: value.trim() };
  });
}

/** Reads a dotted field path from an object as a string ('' when absent). */
function readField(obj: unknown, path: string): string {
  let cur: unknown = obj;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return '';
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur === undefined || cur === null ? '' : String(cur);
}

/** Whether an object satisfies every field requirement. */
export function matchesFields(reqs: readonly FieldRequirement[], obj: unknown): boolean {
  return reqs.every((req) => (readField(obj, req.field) === req.value) === (req.op === 'eq'));
}
