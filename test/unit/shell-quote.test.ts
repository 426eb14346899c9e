/**
 * POSIX quoting and the commands that repeat a probe by hand: every quoted line is handed to real shells (sh, dash,
 * bash where present) which must give back exactly the words that went in, hostile ones included.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { shellJoin, shellQuote } from '../../src/core/shell-quote.ts';
import { kubectlConnectionArgs, repeatCommand, type RepeatSettings } from '../../src/core/repeat-command.ts';
import { buildProbeCommand } from '../../src/core/parse.ts';

/** The shells present on this machine (sh at least). */
const SHELLS = ['/bin/sh', '/bin/dash', '/bin/bash', '/usr/bin/zsh'].filter((s) => existsSync(s));

/** The words a shell makes of `line`: it runs `printf '%s\0' LINE` and splits on NUL. */
function wordsOf(shell: string, line: string): string[] {
  const out = execFileSync(shell, ['-c', `printf '%s\\0' ${line}`], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/nonexistent', X: 'expanded' } });
  return out.split('\0').slice(0, -1);
}

const HOSTILE = [
  '',
  ' ',
  "it's",
  "'",
  "''",
  '"double" and \'single\'',
  '$(touch /tmp/netdebug-pwned)',
  '`touch /tmp/netdebug-pwned`',
  '$X ${X} $((1+1)) $0 $@',
  'back\\slash\\n \\\\ \\\'',
  'line one\nline two\n',
  'tab\there',
  '; rm -rf / # && || | & > < >>',
  '*?[a-z]~ {a,b} !history',
  '-n',
  '--',
  'ünïcödé ✓ 🚀',
  'end with backslash\\',
  "'\\''",
];

describe('shellQuote', () => {
  it('leaves safe words bare and single-quotes the rest', () => {
    expect(shellQuote('nc')).toBe('nc');
    expect(shellQuote('--context=kind-lab')).toBe('--context=kind-lab');
    expect(shellQuote('10.96.0.10:53')).toBe('10.96.0.10:53');
    expect(shellQuote('a b')).toBe(`'a b'`);
    expect(shellQuote('$(x)')).toBe(`'$(x)'`);
    expect(shellQuote("a'b")).toBe(`'a'\\''b'`);
    expect(shellQuote('')).toBe(`''`);
  });

  it.each(SHELLS)('gives back every hostile word exactly through %s, expanding and running nothing', (shell) => {
    for (const word of HOSTILE) expect(wordsOf(shell, shellQuote(word))).toEqual([word]);
    expect(wordsOf(shell, shellJoin(HOSTILE))).toEqual(HOSTILE);
    expect(existsSync('/tmp/netdebug-pwned')).toBe(false);
  });

  it('quotes the probe scripts so the shell passes them to kubectl unchanged', () => {
    for (const argv of [
      buildProbeCommand({ tool: 'path-mtu', address: '10.244.2.7' }, 2000),
      buildProbeCommand({ tool: 'bridge-ports' }, 2000),
      buildProbeCommand({ tool: 'forward-policy', flow: { from: '10.244.1.5', to: ['10.244.2.7'] } }, 2000),
      buildProbeCommand({ tool: 'neighbor', address: '10.244.2.7', refresh: true }, 2000),
    ]) {
      expect(wordsOf(SHELLS[0] as string, shellJoin(argv))).toEqual(argv);
    }
  });
});

const settings = (over: Partial<RepeatSettings> = {}): RepeatSettings => ({ connection: { context: 'lab' }, image: 'nicolaka/netshoot:v0.13', keep: false, podDeadlineSeconds: 300, ...over });

describe('repeatCommand', () => {
  const target = { namespace: 'shop', pod: 'client-7d9', container: 'netdebug-x2b4q' };

  it('execs the probe argv (no sh -c when it needs none) into the container it ran in, with the run context', () => {
    const r = repeatCommand({ kind: 'source-pod' }, target, ['nc', '-z', '-v', '-w', '2', '10.96.0.2', '80'], settings());
    expect(r).toEqual({ command: 'kubectl --context=lab exec -n shop client-7d9 -c netdebug-x2b4q -- nc -z -v -w 2 10.96.0.2 80' });
  });

  it('keeps a sh -c script one quoted word, which the shell hands to kubectl unchanged', () => {
    const argv = buildProbeCommand({ tool: 'path-mtu', address: '10.244.2.7' }, 2000);
    const r = repeatCommand({ kind: 'source-pod' }, target, argv, settings());
    expect(r.command.startsWith(`kubectl --context=lab exec -n shop client-7d9 -c netdebug-x2b4q -- sh -c 'exec 2>&1; `)).toBe(true);
    expect(wordsOf(SHELLS[0] as string, r.command)).toEqual(['kubectl', '--context=lab', 'exec', '-n', 'shop', 'client-7d9', '-c', 'netdebug-x2b4q', '--', ...argv]);
  });

  it('repeats the connection flags the run was given, quoting hostile values, and never writes the token', () => {
    const connection = {
      kubeconfig: "/home/me/my configs/it's.yaml",
      context: '$(whoami)',
      cluster: 'c',
      user: 'u',
      server: 'https://1.2.3.4:6443',
      token: 'sekret-token-value',
      as: 'jane',
      asGroups: ['devs', 'ops team'],
      certificateAuthority: '/ca.crt',
      insecureSkipTlsVerify: true,
    };
    expect(kubectlConnectionArgs(connection)).toEqual({
      args: [
        "--kubeconfig=/home/me/my configs/it's.yaml",
        '--context=$(whoami)',
        '--cluster=c',
        '--user=u',
        '--server=https://1.2.3.4:6443',
        '--as=jane',
        '--as-group=devs',
        '--as-group=ops team',
        '--certificate-authority=/ca.crt',
        '--insecure-skip-tls-verify',
      ],
      withheld: ['--token'],
    });
    const r = repeatCommand({ kind: 'source-pod' }, target, ['cat', '/etc/resolv.conf'], settings({ connection }));
    expect(r.command).not.toContain('sekret');
    expect(r.note).toBe('add your --token (not shown: it is a secret)');
    expect(wordsOf(SHELLS[0] as string, r.command).slice(0, 11)).toEqual(['kubectl', ...kubectlConnectionArgs(connection).args]);
  });

  it('says a node pod is gone after the run and offers kubectl debug node/… for a host-network one', () => {
    const node = { namespace: 'kube-system', pod: 'netdebug-node-2-host-abcde', container: 'netdebug' };
    const r = repeatCommand({ kind: 'node-pod', node: 'node-2', hostNetwork: true }, node, ['sysctl', '-n', 'net.ipv4.ip_forward'], settings());
    expect(r.command).toBe('kubectl --context=lab exec -n kube-system netdebug-node-2-host-abcde -c netdebug -- sysctl -n net.ipv4.ip_forward');
    expect(r.note).toContain('was deleted when the run ended: rerun with --keep');
    expect(r.alternative).toBe('kubectl --context=lab debug node/node-2 -n kube-system -i --profile=netadmin --image=nicolaka/netshoot:v0.13 -- sysctl -n net.ipv4.ip_forward');
    const onPodNetwork = repeatCommand({ kind: 'node-pod', node: 'node-2', hostNetwork: false }, { ...node, pod: 'netdebug-node-2-pod-abcde' }, ['ip', 'neigh', 'show', '10.244.2.7'], settings());
    expect(onPodNetwork.alternative).toBeUndefined();
    expect(onPodNetwork.note).toContain('rerun with --keep');
  });

  it('with --keep, says how long the kept pod lives and offers no alternative', () => {
    const node = { namespace: 'kube-system', pod: 'netdebug-node-2-host-abcde', container: 'netdebug' };
    const r = repeatCommand({ kind: 'node-pod', node: 'node-2', hostNetwork: true }, node, ['ip', '-o', '-d', 'link', 'show'], settings({ keep: true }));
    expect(r.note).toBe('pod kube-system/netdebug-node-2-host-abcde was kept (--keep) and ends by itself 300 s after it started; remove it sooner with: kubectl netdebug cleanup');
    expect(r.alternative).toBeUndefined();
  });
});
