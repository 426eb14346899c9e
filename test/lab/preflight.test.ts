/**
 * The preflight on a fake machine: as non-root it names exactly what is missing and runs nothing; as root it installs
 * exactly the missing Debian packages (the runner is fake: no apt-get runs here) and loads br_netfilter; kubectl, which
 * no Debian package provides, is named with how to get it.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ensureMachineReady, findCommand, inspectMachine, REQUIRED_TOOLS, requireUnpackagedTools, TEST_TOOLS, type Machine } from './preflight.ts';

const ALL = [...REQUIRED_TOOLS, ...TEST_TOOLS];

/** A fake Linux machine with the given commands; apt-get install adds the commands of the packages it installs. */
function fakeMachine(opts: { uid?: number; platform?: NodeJS.Platform; missing?: string[]; bridgeNf?: boolean; modprobeLoads?: boolean; aptInstalls?: boolean }) {
  const present = new Set(ALL.map((t) => t.command).concat('kubectl'));
  for (const c of opts.missing ?? []) present.delete(c);
  let bridgeNf = opts.bridgeNf ?? true;
  const ran: string[] = [];
  const machine: Machine = {
    platform: opts.platform ?? 'linux',
    uid: opts.uid ?? 0,
    findCommand: (c) => (present.has(c) ? `/usr/bin/${c}` : undefined),
    findOnPath: (c) => (present.has(c) ? `/usr/bin/${c}` : undefined),
    exists: (p) => (p === '/proc/sys/net/bridge/bridge-nf-call-iptables' ? bridgeNf : false),
    run: (file, args, env) => {
      ran.push([file, ...args].join(' '));
      expect(env.DEBIAN_FRONTEND).toBe('noninteractive');
      if (file === 'apt-get' && args[0] === 'install' && opts.aptInstalls !== false) {
        for (const t of ALL) if (args.includes(t.pkg)) present.add(t.command);
      }
    },
    tryRun: (file, args) => {
      ran.push([file, ...args].join(' '));
      if (file === 'modprobe' && opts.modprobeLoads) bridgeNf = true;
    },
  };
  return { machine, ran };
}

describe('preflight as non-root', () => {
  it('names exactly what is missing and installs nothing', () => {
    const { machine, ran } = fakeMachine({ uid: 1000, missing: ['unzip', 'tmux', 'nft'] });
    expect(() => ensureMachineReady(() => {}, ALL, machine)).toThrow(
      new Error('cannot run the lab: the lab must run as root (it creates network namespaces and iptables rules); also missing Debian packages: nftables tmux unzip'),
    );
    expect(ran).toEqual([]);
  });

  it('reports a package once even when several of its commands are missing', () => {
    const { machine } = fakeMachine({ uid: 1000, missing: ['ip', 'bridge'] });
    expect(inspectMachine(REQUIRED_TOOLS, machine)).toEqual({
      problems: ['the lab must run as root (it creates network namespaces and iptables rules)'],
      missingPackages: ['iproute2'],
    });
  });

  it('names a platform that is not Linux', () => {
    const { machine } = fakeMachine({ uid: 501, platform: 'darwin' });
    expect(inspectMachine(REQUIRED_TOOLS, machine).problems).toEqual([
      'the lab needs Linux network namespaces; this is darwin',
      'the lab must run as root (it creates network namespaces and iptables rules)',
    ]);
  });
});

describe('preflight as root', () => {
  it('installs exactly the missing packages with apt-get, once', () => {
    const lines: string[] = [];
    const { machine, ran } = fakeMachine({ missing: ['unzip', 'tmux'] });
    ensureMachineReady((l) => lines.push(l), ALL, machine);
    expect(ran).toEqual(['apt-get update -qq', 'apt-get install -y -qq --no-install-recommends tmux unzip']);
    expect(lines).toEqual(['installing missing Debian packages: tmux unzip']);
  });

  it('runs nothing when everything is there', () => {
    const { machine, ran } = fakeMachine({});
    ensureMachineReady(() => {}, ALL, machine);
    expect(ran).toEqual([]);
  });

  it('fails naming what apt-get did not provide', () => {
    const { machine } = fakeMachine({ missing: ['unzip'], aptInstalls: false });
    expect(() => ensureMachineReady(() => {}, ALL, machine)).toThrow(new Error('still missing after apt-get: unzip'));
  });

  it('loads br_netfilter when the bridge sysctl is missing, and fails when it cannot', () => {
    const ok = fakeMachine({ bridgeNf: false, modprobeLoads: true });
    ensureMachineReady(() => {}, ALL, ok.machine);
    expect(ok.ran).toEqual(['modprobe br_netfilter']);
    const bad = fakeMachine({ bridgeNf: false, modprobeLoads: false });
    expect(() => ensureMachineReady(() => {}, ALL, bad.machine)).toThrow(/no br_netfilter/);
  });

  it('the test tools include unzip and tmux, and .ci/run installs every package the preflight would', () => {
    expect(TEST_TOOLS.map((t) => t.pkg)).toEqual(expect.arrayContaining(['unzip', 'tmux']));
    const ci = readFileSync(new URL('../../.ci/run', import.meta.url), 'utf8');
    const listed = (/LAB_PACKAGES=\(([^)]*)\)/.exec(ci)?.[1] ?? '').split(/\s+/).filter((p) => p !== '');
    expect([...new Set(ALL.map((t) => t.pkg))].filter((p) => !listed.includes(p))).toEqual([]);
  });
});

describe('commands no Debian package provides', () => {
  it('a missing kubectl fails at once, saying how to get it', () => {
    const { machine } = fakeMachine({ missing: ['kubectl'] });
    expect(() => requireUnpackagedTools(machine)).toThrow(/^cannot run the tests: `kubectl` is not on PATH: the suites run the real kubectl \(.*\); install kubectl >= 1\.26/);
    expect(() => requireUnpackagedTools(fakeMachine({}).machine)).not.toThrow();
  });

  it('findCommand looks on PATH for an executable', () => {
    expect(findCommand('sh', '/nonexistent')).toMatch(/\/sh$/);
    expect(findCommand('sh', '/nonexistent', [])).toBeUndefined();
    expect(findCommand('no-such-command-netdebug', '/usr/bin')).toBeUndefined();
  });
});
