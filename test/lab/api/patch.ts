/**
 * The three PATCH flavours the API accepts: JSON merge patch (RFC 7386), JSON patch (RFC 6902) and strategic merge patch.
 */
import { StatusError, badRequest } from './status.ts';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

/** The patch content types the server accepts. */
const PATCH_TYPES = ['application/merge-patch+json', 'application/json-patch+json', 'application/strategic-merge-patch+json'] as const;

function isObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Applies an RFC 7386 merge patch and returns the new document (inputs are not changed). */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return structuredClone(patch);
  const result: JsonObject = isObject(target) ? structuredClone(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = applyMergePatch(result[key], value) as Json;
  }
  return result;
}

function decodePointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw badRequest(`the server rejected our request due to an error in our request: invalid JSON pointer "${path}"`);
  return path.slice(1).split('/').map((p) => p.replaceAll('~1', '/').replaceAll('~0', '~'));
}

function resolveParent(doc: Json, tokens: string[], path: string): { parent: Json; last: string } {
  let cur: Json = doc;
  for (const token of tokens.slice(0, -1)) {
    const next: Json | undefined = Array.isArray(cur) ? cur[Number(token)] : isObject(cur) ? cur[token] : undefined;
    if (next === undefined) throw new StatusError(422, 'Invalid', `the server rejected our request due to an error in our request: doc is missing path: "${path}": missing value`);
    cur = next;
  }
  return { parent: cur, last: tokens.at(-1) as string };
}

function readPointer(doc: Json, path: string): Json {
  let cur: Json | undefined = doc;
  for (const token of decodePointer(path)) {
    cur = Array.isArray(cur) ? cur[Number(token)] : isObject(cur) ? cur[token] : undefined;
    if (cur === undefined) throw new StatusError(422, 'Invalid', `the server rejected our request due to an error in our request: doc is missing path: "${path}": missing value`);
  }
  return cur;
}

function removeAt(doc: Json, path: string): Json {
  const tokens = decodePointer(path);
  const { parent, last } = resolveParent(doc, tokens, path);
  if (Array.isArray(parent)) {
    const idx = Number(last);
    if (!Number.isInteger(idx) || idx < 0 || idx >= parent.length) throw new StatusError(422, 'Invalid', `the server rejected our request due to an error in our request: unable to remove nonexistent key: ${path}`);
    return parent.splice(idx, 1)[0] as Json;
  }
  if (!isObject(parent) || !(last in parent)) throw new StatusError(422, 'Invalid', `the server rejected our request due to an error in our request: unable to remove nonexistent key: ${last}: missing value`);
  const old = parent[last] as Json;
  delete parent[last];
  return old;
}

function addAt(doc: Json, path: string, value: Json, replace: boolean): Json {
  const tokens = decodePointer(path);
  if (tokens.length === 0) return value;
  const { parent, last } = resolveParent(doc, tokens, path);
  if (Array.isArray(parent)) {
    const idx = last === '-' ? parent.length : Number(last);
    if (!Number.isInteger(idx) || idx < 0 || idx > parent.length || (replace && idx >= parent.length)) {
      throw new StatusError(422, 'Invalid', `the server rejected our request due to an error in our request: index out of bounds in ${path}`);
    }
    parent.splice(idx, replace ? 1 : 0, value);
  } else if (isObject(parent)) {
    if (replace && !(last in parent)) throw new StatusError(422, 'Invalid', `the server rejected our request due to an error in our request: replace operation does not apply: doc is missing key: ${path}: missing value`);
    parent[last] = value;
  } else throw new StatusError(422, 'Invalid', `the server rejected our request due to an error in our request: doc is missing path: "${path}": missing value`);
  return doc;
}

/** Applies an RFC 6902 JSON patch (add, remove, replace, move, copy, test) and returns the new document. */
export function applyJsonPatch(target: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw badRequest('the server rejected our request due to an error in our request: json patch must be an array of operations');
  let doc = structuredClone(target) as Json;
  for (const raw of ops) {
    if (!isObject(raw) || typeof raw['op'] !== 'string' || typeof raw['path'] !== 'string') {
      throw badRequest('the server rejected our request due to an error in our request: invalid json patch operation');
    }
    const path = raw['path'];
    const from = typeof raw['from'] === 'string' ? raw['from'] : '';
    switch (raw['op']) {
      case 'add':
        doc = addAt(doc, path, structuredClone(raw['value'] ?? null), false);
        break;
      case 'replace':
        doc = addAt(doc, path, structuredClone(raw['value'] ?? null), true);
        break;
      case 'remove':
        removeAt(doc, path);
        break;
      case 'move':
        doc = addAt(doc, path, removeAt(doc, from), false);
        break;
      case 'copy':
        doc = addAt(doc, path, structuredClone(readPointer(doc, from)), false);
        break;
      case 'test':
        if (JSON.stringify(readPointer(doc, path)) !== JSON.stringify(raw['value'])) {
          throw new StatusError(422, 'Invalid', `the server rejected our request due to an error in our request: testing value ${path} failed: test failed`);
        }
        break;
      default:
        throw badRequest(`the server rejected our request due to an error in our request: unexpected json patch operation "${String(raw['op'])}"`);
    }
  }
  return doc;
}

/** Lists strategic merge patch merges by key (patchMergeKey), per field name; ports depend on where they sit. */
function mergeKeyFor(path: readonly string[]): string | undefined {
  const field = path.at(-1);
  const parent = path.at(-2);
  switch (field) {
    case 'containers':
    case 'initContainers':
    case 'ephemeralContainers':
    case 'volumes':
    case 'env':
    case 'imagePullSecrets':
    case 'containerStatuses':
    case 'initContainerStatuses':
    case 'ephemeralContainerStatuses':
      return 'name';
    case 'volumeMounts':
      return 'mountPath';
    case 'conditions':
      return 'type';
    case 'ownerReferences':
      return 'uid';
    case 'hostAliases':
      return 'ip';
    case 'ports':
      return parent === 'containers' || parent === 'initContainers' ? 'containerPort' : 'port';
    default:
      return undefined;
  }
}

function mergeList(path: string[], original: Json[], patch: Json[], key: string): Json[] {
  const result = structuredClone(original);
  for (const item of patch) {
    if (!isObject(item)) {
      result.push(structuredClone(item));
      continue;
    }
    const idx = result.findIndex((o) => isObject(o) && o[key] === item[key]);
    if (item['$patch'] === 'delete') {
      if (idx >= 0) result.splice(idx, 1);
      continue;
    }
    if (idx >= 0) result[idx] = strategicMerge(path, result[idx] as Json, item) as Json;
    else result.push(strategicMerge(path, {}, item) as Json);
  }
  return result;
}

function strategicMerge(path: string[], target: Json, patch: Json): Json {
  if (!isObject(patch)) return structuredClone(patch);
  if (patch['$patch'] === 'replace') {
    const { $patch: _ignored, ...rest } = patch;
    return structuredClone(rest) as Json;
  }
  const result: JsonObject = isObject(target) ? structuredClone(target) : {};
  for (const [field, value] of Object.entries(patch)) {
    if (field.startsWith('$deleteFromPrimitiveList/')) {
      const list = field.slice('$deleteFromPrimitiveList/'.length);
      const current = result[list];
      if (Array.isArray(current) && Array.isArray(value)) result[list] = current.filter((v) => !value.includes(v));
      continue;
    }
    // $setElementOrder, $retainKeys, $patch and other directives only steer ordering/pruning: safe to ignore here
    if (field.startsWith('$')) continue;
    if (value === null) {
      delete result[field];
      continue;
    }
    const childPath = [...path, field];
    const key = mergeKeyFor(childPath);
    const current = result[field];
    if (Array.isArray(value) && key) result[field] = mergeList(childPath, Array.isArray(current) ? current : [], value, key);
    else if (isObject(value)) result[field] = strategicMerge(childPath, current ?? {}, value);
    else result[field] = structuredClone(value);
  }
  return result;
}

/** Applies a strategic merge patch for the built-in types the lab serves (lists merged by their patchMergeKey). */
export function applyStrategicMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) throw badRequest('the server rejected our request due to an error in our request: strategic merge patch must be an object');
  return strategicMerge([], target as Json, patch);
}

/** Applies a patch body of the given content type; unknown types are 415 UnsupportedMediaType. */
export function applyPatch(contentType: string, target: unknown, patch: unknown): unknown {
  const type = contentType.split(';')[0]?.trim().toLowerCase();
  switch (type) {
    case 'application/merge-patch+json':
      return applyMergePatch(target, patch);
    case 'application/json-patch+json':
      return applyJsonPatch(target, patch);
    case 'application/strategic-merge-patch+json':
      return applyStrategicMergePatch(target, patch);
    default:
      throw new StatusError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: ${PATCH_TYPES.join(', ')}, application/apply-patch+yaml`);
  }
}
