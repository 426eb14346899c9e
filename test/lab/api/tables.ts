/**
 * Server-side printing: the meta.k8s.io/v1 Table responses `kubectl get` asks for, with the columns real kubectl shows.
 */
import type { KubeObject } from './store.ts';

/** One column definition of a Table. */
export interface TableColumn {
  name: string;
  type: 'string' | 'integer' | 'date';
  format: string;
  description: string;
  priority: number;
}

/** A meta.k8s.io/v1 Table. */
export interface Table {
  kind: 'Table';
  apiVersion: 'meta.k8s.io/v1';
  metadata: { resourceVersion?: string; continue?: string };
  columnDefinitions: TableColumn[];
  rows: { cells: unknown[]; object: unknown }[];
}

/** How much of each object a row carries (the `includeObject` parameter). */
export type IncludeObject = 'None' | 'Metadata' | 'Object';

type Printer = { columns: TableColumn[]; cells: (obj: KubeObject, now: number) => unknown[] };

function column(name: string, type: TableColumn['type'] = 'string', priority = 0, format = ''): TableColumn {
  return { name, type, format, description: `${name} of the object`, priority };
}

/** Formats a duration the way kubectl's HumanDuration does (e.g. 45s, 5m10s, 3h, 2d4h). */
export function formatAge(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 8) return m % 60 === 0 ? `${h}h` : `${h}h${m % 60}m`;
  if (h < 48) return `${h}h`;
  const d = Math.floor(h / 24);
  if (h < 24 * 8) return h % 24 === 0 ? `${d}d` : `${d}d${h % 24}h`;
  if (d < 365 * 2) return `${d}d`;
  return `${Math.floor(d / 365)}y`;
}

function age(obj: KubeObject, now: number): string {
  const created = Date.parse(obj.metadata.creationTimestamp ?? '');
  return Number.isNaN(created) ? '<unknown>' : formatAge((now - created) / 1000);
}

function field<T>(obj: unknown, ...path: string[]): T | undefined {
  let cur: unknown = obj;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[p];
  }
  return cur as T | undefined;
}

const nameColumn = column('Name', 'string', 0, 'name');

interface ContainerStatus {
  name?: string;
  ready?: boolean;
  restartCount?: number;
  state?: { waiting?: { reason?: string }; terminated?: { reason?: string; exitCode?: number } };
}

function podStatusText(pod: KubeObject): string {
  if (pod.metadata['deletionTimestamp']) return 'Terminating';
  let reason = field<string>(pod, 'status', 'reason') ?? field<string>(pod, 'status', 'phase') ?? 'Unknown';
  for (const cs of field<ContainerStatus[]>(pod, 'status', 'containerStatuses') ?? []) {
    const waiting = cs.state?.waiting?.reason;
    const terminated = cs.state?.terminated;
    if (waiting) reason = waiting;
    else if (terminated) reason = terminated.reason ?? `ExitCode:${terminated.exitCode ?? 0}`;
  }
  return reason;
}

const printers: Record<string, Printer> = {
  configmaps: {
    columns: [nameColumn, column('Data', 'integer'), column('Age')],
    cells: (cm, now) => [cm.metadata.name, Object.keys(field<Record<string, string>>(cm, 'data') ?? {}).length + Object.keys(field<Record<string, string>>(cm, 'binaryData') ?? {}).length, age(cm, now)],
  },
  pods: {
    columns: [
      nameColumn,
      column('Ready'),
      column('Status'),
      column('Restarts', 'string'),
      column('Age'),
      column('IP', 'string', 1),
      column('Node', 'string', 1),
      column('Nominated Node', 'string', 1),
      column('Readiness Gates', 'string', 1),
    ],
    cells: (pod, now) => {
      const containers = field<unknown[]>(pod, 'spec', 'containers') ?? [];
      const statuses = field<ContainerStatus[]>(pod, 'status', 'containerStatuses') ?? [];
      const ready = statuses.filter((s) => s.ready).length;
      const restarts = statuses.reduce((n, s) => n + (s.restartCount ?? 0), 0);
      const gates = field<{ conditionType?: string }[]>(pod, 'spec', 'readinessGates') ?? [];
      return [
        pod.metadata.name,
        `${ready}/${containers.length}`,
        podStatusText(pod),
        String(restarts),
        age(pod, now),
        field<string>(pod, 'status', 'podIP') || '<none>',
        field<string>(pod, 'spec', 'nodeName') || '<none>',
        field<string>(pod, 'status', 'nominatedNodeName') || '<none>',
        gates.length === 0 ? '<none>' : `0/${gates.length}`,
      ];
    },
  },
  services: {
    columns: [nameColumn, column('Type'), column('Cluster-IP'), column('External-IP'), column('Port(s)'), column('Age'), column('Selector', 'string', 1)],
    cells: (svc, now) => {
      const type = field<string>(svc, 'spec', 'type') ?? 'ClusterIP';
      const ports = field<{ port?: number; protocol?: string; nodePort?: number }[]>(svc, 'spec', 'ports') ?? [];
      const selector = field<Record<string, string>>(svc, 'spec', 'selector') ?? {};
      const external = type === 'ExternalName' ? (field<string>(svc, 'spec', 'externalName') ?? '<none>') : '<none>';
      return [
        svc.metadata.name,
        type,
        field<string>(svc, 'spec', 'clusterIP') || '<none>',
        external,
        ports.length === 0 ? '<none>' : ports.map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol ?? 'TCP'}`).join(','),
        age(svc, now),
        Object.keys(selector).length === 0 ? '<none>' : Object.entries(selector).sort().map(([k, v]) => `${k}=${v}`).join(','),
      ];
    },
  },
  endpointslices: {
    columns: [nameColumn, column('AddressType'), column('Ports'), column('Endpoints'), column('Age')],
    cells: (slice, now) => {
      const ports = field<{ port?: number }[]>(slice, 'ports') ?? [];
      const addresses = (field<{ addresses?: string[] }[]>(slice, 'endpoints') ?? []).flatMap((e) => e.addresses ?? []);
      const shown = addresses.slice(0, 3).join(',');
      return [
        slice.metadata.name,
        field<string>(slice, 'addressType') ?? '',
        ports.length === 0 ? '<unset>' : ports.map((p) => (p.port === undefined ? '<unset>' : String(p.port))).join(','),
        addresses.length === 0 ? '<unset>' : addresses.length > 3 ? `${shown} + ${addresses.length - 3} more...` : shown,
        age(slice, now),
      ];
    },
  },
  endpoints: {
    columns: [nameColumn, column('Endpoints'), column('Age')],
    cells: (ep, now) => {
      const subsets = field<{ addresses?: { ip?: string }[]; ports?: { port?: number }[] }[]>(ep, 'subsets') ?? [];
      const pairs = subsets.flatMap((s) => (s.addresses ?? []).flatMap((a) => (s.ports?.length ? s.ports.map((p) => `${a.ip}:${p.port}`) : [a.ip ?? ''])));
      const shown = pairs.slice(0, 3).join(',');
      return [ep.metadata.name, pairs.length === 0 ? '<none>' : pairs.length > 3 ? `${shown} + ${pairs.length - 3} more...` : shown, age(ep, now)];
    },
  },
  nodes: {
    columns: [
      nameColumn,
      column('Status'),
      column('Roles'),
      column('Age'),
      column('Version'),
      column('Internal-IP', 'string', 1),
      column('External-IP', 'string', 1),
      column('OS-Image', 'string', 1),
      column('Kernel-Version', 'string', 1),
      column('Container-Runtime', 'string', 1),
    ],
    cells: (node, now) => {
      const ready = (field<{ type?: string; status?: string }[]>(node, 'status', 'conditions') ?? []).find((c) => c.type === 'Ready');
      let status = ready?.status === 'True' ? 'Ready' : ready ? 'NotReady' : 'Unknown';
      if (field<boolean>(node, 'spec', 'unschedulable')) status += ',SchedulingDisabled';
      const roles = Object.keys(node.metadata.labels ?? {})
        .filter((l) => l.startsWith('node-role.kubernetes.io/'))
        .map((l) => l.slice('node-role.kubernetes.io/'.length));
      const addresses = field<{ type?: string; address?: string }[]>(node, 'status', 'addresses') ?? [];
      const info = field<Record<string, string>>(node, 'status', 'nodeInfo') ?? {};
      return [
        node.metadata.name,
        status,
        roles.length === 0 ? '<none>' : roles.sort().join(','),
        age(node, now),
        info['kubeletVersion'] ?? '',
        addresses.find((a) => a.type === 'InternalIP')?.address ?? '<none>',
        addresses.find((a) => a.type === 'ExternalIP')?.address ?? '<none>',
        info['osImage'] ?? '<unknown>',
        info['kernelVersion'] ?? '<unknown>',
        info['containerRuntimeVersion'] ?? '<unknown>',
      ];
    },
  },
  events: {
    // The columns of the API server's event printer (pkg/printers/internalversion: printEvent).
    columns: [
      column('Last Seen'),
      column('Type'),
      column('Reason'),
      column('Object'),
      column('Subobject', 'string', 1),
      column('Source', 'string', 1),
      column('Message'),
      column('First Seen', 'string', 1),
      column('Count', 'string', 1),
      column('Name', 'string', 1, 'name'),
    ],
    cells: (ev, now) => {
      const since = (t: string | undefined) => {
        const ms = Date.parse(t ?? '');
        return Number.isNaN(ms) ? '<unknown>' : formatAge((now - ms) / 1000);
      };
      const first = since(field<string>(ev, 'firstTimestamp'));
      const count = field<number>(ev, 'count') ?? 1;
      let last = since(field<string>(ev, 'lastTimestamp'));
      if (count > 1) last = `${last} (x${count} over ${first})`;
      const obj = field<{ kind?: string; name?: string; fieldPath?: string }>(ev, 'involvedObject') ?? {};
      const source = field<{ component?: string; host?: string }>(ev, 'source') ?? {};
      return [
        last,
        field<string>(ev, 'type') ?? '',
        field<string>(ev, 'reason') ?? '',
        `${(obj.kind ?? '').toLowerCase()}/${obj.name ?? ''}`,
        obj.fieldPath ?? '',
        [source.component, source.host].filter((x) => x).join(', '),
        field<string>(ev, 'message')?.trim() ?? '',
        first,
        String(count),
        ev.metadata.name,
      ];
    },
  },
  namespaces: {
    columns: [nameColumn, column('Status'), column('Age')],
    cells: (ns, now) => [ns.metadata.name, field<string>(ns, 'status', 'phase') ?? 'Active', age(ns, now)],
  },
  networkpolicies: {
    columns: [nameColumn, column('Pod-Selector'), column('Age')],
    cells: (np, now) => {
      const labels = field<Record<string, string>>(np, 'spec', 'podSelector', 'matchLabels') ?? {};
      const text = Object.entries(labels).sort().map(([k, v]) => `${k}=${v}`).join(',');
      return [np.metadata.name, text === '' ? '<none>' : text, age(np, now)];
    },
  },
};

const genericPrinter: Printer = { columns: [nameColumn, column('Age')], cells: (obj, now) => [obj.metadata.name, age(obj, now)] };

function rowObject(obj: KubeObject, include: IncludeObject): unknown {
  switch (include) {
    case 'None':
      return null;
    case 'Object':
      return obj;
    case 'Metadata':
      return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj.metadata };
    default: {
      const never: never = include;
      throw new Error(`unknown includeObject ${String(never)}`);
    }
  }
}

/** Renders objects of a resource as a Table (columnDefinitions can be left out, as for watch events after the first). */
export function renderTable(
  resource: string,
  objs: readonly KubeObject[],
  opts: { include: IncludeObject; resourceVersion?: string; continue?: string; now?: number; noHeaders?: boolean },
): Table {
  const printer = printers[resource] ?? genericPrinter;
  const now = opts.now ?? Date.now();
  const metadata: Table['metadata'] = {};
  if (opts.resourceVersion !== undefined) metadata.resourceVersion = opts.resourceVersion;
  if (opts.continue) metadata.continue = opts.continue;
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata,
    columnDefinitions: opts.noHeaders ? [] : printer.columns,
    rows: objs.map((obj) => ({ cells: printer.cells(obj, now), object: rowObject(obj, opts.include) })),
  };
}

/** Whether an Accept header asks for a meta.k8s.io/v1 Table. */
export function wantsTable(accept: string | undefined): boolean {
  return (accept ?? '').split(',').some((part) => {
    const params = part.split(';').map((p) => p.trim());
    return params.includes('as=Table') && params.includes('g=meta.k8s.io') && params.includes('v=v1');
  });
}
