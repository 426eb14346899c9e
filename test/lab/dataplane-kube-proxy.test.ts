/**
 * Pure parts of the data plane: the kube-proxy rule renderer, addressing, fault-to-omit mapping and the command runner.
 */
import { describe, expect, it } from 'vitest';
import { cidrContains, formatIPv4, getLabPrefix, getPodMAC, getPrefixLength, parseCIDR, parseIPv4, planNodeNet, tryParseCIDR } from './dataplane/addressing.ts';
import {
  encodeBase32,
  getEndpointChainName,
  getOmittedServices,
  getServiceChainName,
  mergeOmit,
  renderKubeProxyHooks,
  renderKubeProxyRules,
} from './dataplane/kube-proxy.ts';
import type { ServiceRules } from './dataplane/kube-proxy.ts';
import { CommandError, createExecRunner } from './dataplane/runner.ts';

const web: ServiceRules = {
  namespace: 'shop',
  name: 'web',
  clusterIP: '10.96.0.20',
  ports: [{ name: 'http', port: 80, protocol: 'TCP' }],
  endpoints: [
    { ip: '10.244.1.10', ready: true, ports: { http: 8080 } },
    { ip: '10.244.2.10', ready: true, ports: { http: 8080 } },
    { ip: '10.244.2.11', ready: true, ports: { http: 8080 } },
    { ip: '10.244.2.12', ready: false, ports: { http: 8080 } },
  ],
};
const dns: ServiceRules = {
  namespace: 'kube-system',
  name: 'kube-dns',
  clusterIP: '10.96.0.10',
  ports: [
    { name: 'dns', port: 53, protocol: 'UDP' },
    { name: 'dns-tcp', port: 53, protocol: 'TCP' },
  ],
  endpoints: [{ ip: '10.244.2.53', ready: true, ports: { dns: 53 } }],
};
const render = (services: ServiceRules[], omit?: 'all' | string[], previousChains?: string[]) =>
  renderKubeProxyRules({ services, clusterCIDR: '10.244.0.0/16', omit, previousChains });

describe('renderKubeProxyRules', () => {
  const svcChain = getServiceChainName('shop/web:http', 'tcp');

  it('balances over ready endpoints with decreasing probabilities, the last without statistic', () => {
    const lines = render([web]).text.split('\n').filter((l) => l.startsWith(`-A ${svcChain} `) && l.includes('KUBE-SEP-'));
    expect(lines).toHaveLength(3);
    expect(lines[0]).toContain('--probability 0.3333333333');
    expect(lines[1]).toContain('--probability 0.5000000000');
    expect(lines[2]).not.toContain('statistic');
    expect(render([web]).text).not.toContain('10.244.2.12');
  });

  it.each([
    { name: 'ClusterIP jump in nat KUBE-SERVICES', want: `-A KUBE-SERVICES -d 10.96.0.20/32 -p tcp -m tcp --dport 80 -m comment --comment "shop/web:http cluster IP" -j ${svcChain}` },
    { name: 'masquerade for sources outside the cluster CIDR', want: `-A ${svcChain} ! -s 10.244.0.0/16 -d 10.96.0.20/32 -p tcp -m tcp --dport 80` },
    { name: 'hairpin: the endpoint reaching itself is masqueraded', want: `-A ${getEndpointChainName('shop/web:http', 'tcp', '10.244.1.10:8080')} -s 10.244.1.10/32 -m comment --comment "shop/web:http" -j KUBE-MARK-MASQ` },
    { name: 'DNAT to the endpoint', want: '-j DNAT --to-destination 10.244.2.10:8080' },
    { name: 'marked packets are masqueraded', want: '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE' },
    { name: 'mark rule', want: '-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000' },
  ])('renders $name', ({ want }) => {
    expect(render([web]).text).toContain(want);
  });

  it('rejects a port whose endpoints lack it (unnamed/named mismatch) and keeps the other port of the Service', () => {
    const text = render([dns]).text;
    const filter = text.slice(0, text.indexOf('COMMIT'));
    expect(filter).toContain('-A KUBE-SERVICES -d 10.96.0.10/32 -p tcp -m tcp --dport 53 -m comment --comment "kube-system/kube-dns:dns-tcp has no endpoints" -j REJECT --reject-with icmp-port-unreachable');
    expect(text).toContain('-p udp -m udp --dport 53 -m comment --comment "kube-system/kube-dns:dns cluster IP"');
  });

  it.each([
    { name: 'headless None', clusterIP: 'None' },
    { name: 'empty clusterIP', clusterIP: '' },
  ])('renders no rules for a $name Service', ({ clusterIP }) => {
    const out = render([{ ...web, clusterIP }]);
    expect(out.chains).toEqual([]);
    expect(out.text).not.toContain('shop/web');
  });

  it.each([
    { name: 'all', omit: 'all' as const, webRules: false, dnsRules: false },
    { name: 'one service', omit: ['shop/web'], webRules: false, dnsRules: true },
    { name: 'another namespace/name', omit: ['default/web'], webRules: true, dnsRules: true },
    { name: 'nothing', omit: undefined, webRules: true, dnsRules: true },
  ])('omit $name', ({ omit, webRules, dnsRules }) => {
    const text = render([web, dns], omit).text;
    expect(text.includes('shop/web')).toBe(webRules);
    expect(text.includes('kube-system/kube-dns')).toBe(dnsRules);
  });

  it('declares only KUBE-* chains (never a built-in chain, which --noflush would flush)', () => {
    const declared = render([web, dns]).text.split('\n').filter((l) => l.startsWith(':'));
    expect(declared.every((l) => l.startsWith(':KUBE-'))).toBe(true);
    expect(render([web]).text).not.toMatch(/^-A (PREROUTING|OUTPUT|POSTROUTING|INPUT|FORWARD) /m);
  });

  it('declares, flushes and deletes chains that the previous render had and this one does not', () => {
    const before = render([web, dns]);
    const after = render([dns], undefined, before.chains);
    const stale = before.chains.filter((c) => !after.chains.includes(c));
    expect(stale.length).toBe(4);
    for (const c of stale) {
      expect(after.text).toContain(`:${c} - [0:0]`);
      expect(after.text).toContain(`-X ${c}\n`);
    }
    for (const c of after.chains) expect(after.text).not.toContain(`-X ${c}\n`);
  });

  it('chain names are deterministic, distinct per port/protocol and at most 28 characters', () => {
    const a = getServiceChainName('shop/web:http', 'tcp');
    expect(a).toBe(getServiceChainName('shop/web:http', 'TCP'));
    expect(a).not.toBe(getServiceChainName('shop/web:http', 'udp'));
    expect(a).toMatch(/^KUBE-SVC-[A-Z2-7]{16}$/);
    expect(a.length).toBeLessThanOrEqual(28);
  });

  it('hooks install the jumps from the built-in chains', () => {
    const hooks = renderKubeProxyHooks();
    for (const chain of ['PREROUTING', 'OUTPUT', 'POSTROUTING', 'INPUT', 'FORWARD']) expect(hooks).toMatch(new RegExp(`^-A ${chain} .*-j KUBE-`, 'm'));
  });
});

describe('encodeBase32', () => {
  it.each([
    { name: 'empty', input: '', want: '' },
    { name: 'f', input: 'f', want: 'MY' },
    { name: 'foobar', input: 'foobar', want: 'MZXW6YTBOI' },
  ])('RFC 4648 vector $name', ({ input, want }) => {
    expect(encodeBase32(new TextEncoder().encode(input))).toBe(want);
  });
});

describe('getOmittedServices / mergeOmit', () => {
  it.each([
    { name: 'no fault', faults: [], want: undefined },
    { name: 'other node', faults: [{ type: 'kube-proxy-rules-missing' as const, node: 'node-2' }], want: undefined },
    { name: 'all services', faults: [{ type: 'kube-proxy-rules-missing' as const, node: 'node-1' }], want: 'all' },
    {
      name: 'two services',
      faults: [
        { type: 'kube-proxy-rules-missing' as const, node: 'node-1', service: 'a/x' },
        { type: 'kube-proxy-rules-missing' as const, node: 'node-1', service: 'b/y' },
        { type: 'ip-forward-off' as const, node: 'node-1' },
      ],
      want: ['a/x', 'b/y'],
    },
  ])('$name', ({ faults, want }) => {
    expect(getOmittedServices(faults, 'node-1')).toEqual(want);
  });

  it.each([
    { name: 'all wins', a: ['x/y'], b: 'all' as const, want: 'all' },
    { name: 'union', a: ['x/y'], b: ['x/y', 'z/w'], want: ['x/y', 'z/w'] },
    { name: 'undefined', a: undefined, b: ['x/y'], want: ['x/y'] },
  ])('mergeOmit $name', ({ a, b, want }) => {
    expect(mergeOmit(a, b)).toEqual(want);
  });
});

describe('addressing', () => {
  it('plans a node in flannel layout', () => {
    expect(planNodeNet('abc', { name: 'node-2', index: 2, podCIDR: '10.244.2.0/24' })).toEqual({
      name: 'node-2',
      index: 2,
      netns: 'ndabc-n2',
      underlayIP: '172.31.0.12',
      podCIDR: '10.244.2.0/24',
      gatewayIP: '10.244.2.1',
      vtepIP: '10.244.2.0',
      vtepMAC: '0e:6e:64:00:00:02',
    });
  });

  it.each([
    { name: 'first pod of node-1', ip: '10.244.1.2', mac: '0a:58:0a:f4:01:02' },
    { name: 'high octets', ip: '10.244.255.254', mac: '0a:58:0a:f4:ff:fe' },
  ])('derives the pod MAC from its IP as the CNI bridge plugin does: $name', ({ ip, mac }) => {
    expect(getPodMAC(ip)).toBe(mac);
  });

  it.each([
    { name: 'uppercase', labId: 'ABC' },
    { name: 'dash', labId: 'a-b' },
    { name: 'empty', labId: '' },
  ])('refuses lab id: $name', ({ labId }) => {
    expect(() => getLabPrefix(labId)).toThrow(/invalid lab id/);
  });

  it.each([
    { name: 'host bits cleared', cidr: '10.244.3.7/24', network: '10.244.3.0', prefix: 24 },
    { name: '/16', cidr: '10.96.5.5/16', network: '10.96.0.0', prefix: 16 },
  ])('parseCIDR $name', ({ cidr, network, prefix }) => {
    const p = parseCIDR(cidr);
    expect(formatIPv4(p.network)).toBe(network);
    expect(getPrefixLength(cidr)).toBe(prefix);
  });

  it.each([
    { name: 'octet above 255', cidr: '10.244.300.0/24' },
    { name: 'leading zero', cidr: '10.244.03.0/24' },
    { name: 'two slashes', cidr: '10.244.3.0/24/8' },
    { name: 'prefix above 32', cidr: '10.244.3.0/33' },
  ])('refuses a malformed CIDR: $name', ({ cidr }) => {
    expect(() => parseCIDR(cidr)).toThrow(/not an IPv4/);
    expect(tryParseCIDR(cidr)).toBeUndefined();
  });

  it.each([
    { name: 'inside', ip: '10.244.3.255', want: true },
    { name: 'just below', ip: '10.244.2.255', want: false },
    { name: 'just above', ip: '10.244.4.0', want: false },
  ])('cidrContains $name', ({ ip, want }) => {
    expect(cidrContains(parseCIDR('10.244.3.0/24'), parseIPv4(ip))).toBe(want);
  });
});

describe('createExecRunner', () => {
  const runner = createExecRunner();

  it('returns stdout and feeds stdin', async () => {
    expect((await runner.run(['cat'], { input: 'hello' })).stdout).toBe('hello');
  });

  it('rejects a failing command with argv, exit code and stderr', async () => {
    const err = await runner.run(['sh', '-c', 'echo broken >&2; exit 3', 'arg with space']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandError);
    expect(err).toMatchObject({ code: 'COMMAND_FAILED', exitCode: 3, stderr: 'broken\n' });
    expect((err as Error).message).toContain('exit code 3: sh -c "echo broken >&2; exit 3" "arg with space"');
  });

  it('resolves with the exit code when allowFailure is set', async () => {
    expect(await runner.run(['sh', '-c', 'exit 4'], { allowFailure: true })).toMatchObject({ code: 4 });
  });

  it('names a missing program', async () => {
    await expect(runner.run(['no-such-program-xyz'])).rejects.toThrow(/no-such-program-xyz.*\n.*ENOENT/);
  });
});
