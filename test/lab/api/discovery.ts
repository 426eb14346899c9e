/**
 * Discovery documents: /version, /api, /apis, /apis/<g>, /api/v1 and /apis/<g>/<v> (legacy, non-aggregated form).
 */
import { API_GROUPS, RESOURCES } from './resources.ts';

/** The gitVersion the lab reports; kubectl's version dispatcher picks its 1.32 client from it. */
const LAB_GIT_VERSION = 'v1.32.0-lab';

/** The /version document. */
export function renderVersion(): Record<string, unknown> {
  return {
    major: '1',
    minor: '32',
    gitVersion: LAB_GIT_VERSION,
    gitCommit: '0000000000000000000000000000000000000000',
    gitTreeState: 'clean',
    buildDate: '2025-01-01T00:00:00Z',
    goVersion: 'go1.23.0',
    compiler: 'gc',
    platform: 'linux/amd64',
  };
}

/** The /api document (APIVersions). */
export function renderCoreVersions(serverAddress: string): Record<string, unknown> {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
}

function describeGroup(name: string, version: string): Record<string, unknown> {
  const gv = { groupVersion: `${name}/${version}`, version };
  return { name, versions: [gv], preferredVersion: gv };
}

/** The /apis document (APIGroupList). */
export function renderGroupList(): Record<string, unknown> {
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: API_GROUPS.map((g) => describeGroup(g.name, g.version)) };
}

/** The /apis/<group> document, or undefined for a group the lab does not serve. */
export function renderGroup(name: string): Record<string, unknown> | undefined {
  const group = API_GROUPS.find((g) => g.name === name);
  return group ? { kind: 'APIGroup', apiVersion: 'v1', ...describeGroup(group.name, group.version) } : undefined;
}

/** The APIResourceList of a group/version ('' is the core group), or undefined when not served. */
export function renderResourceList(group: string, version: string): Record<string, unknown> | undefined {
  const served = group === '' ? version === 'v1' : API_GROUPS.some((g) => g.name === group && g.version === version);
  if (!served) return undefined;
  const resources = RESOURCES.filter((r) => r.group === group && r.version === version).flatMap((r) => [
    {
      name: r.plural,
      singularName: r.singular,
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: r.verbs,
      ...(r.shortNames.length > 0 ? { shortNames: r.shortNames } : {}),
    },
    ...r.subresources.map((s) => ({ name: `${r.plural}/${s.name}`, singularName: '', namespaced: r.namespaced, kind: s.kind, verbs: s.verbs })),
  ]);
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: group === '' ? version : `${group}/${version}`, resources };
}
