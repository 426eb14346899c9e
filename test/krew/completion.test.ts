/**
 * Completion logic with a fake cluster: which candidates each partial word gets, the directive, the words kubectl
 * hands over, and the shell scripts (bash runs its script against bin/kubectl-netdebug for real).
 */
import { execFile, execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_IMAGE, parseCli } from '../../src/cli.ts';
import { completeWords, completionScript, connectionFlagsOf, DIRECTIVE, formatCompletion, scanWords, type CompletionSource } from '../../src/completion.ts';

const repo = fileURLToPath(new URL('../..', import.meta.url));

const calls: string[] = [];
const source: CompletionSource = {
  namespaces: async () => ['default', 'shop', 'kube-system'],
  pods: async (ns) => (calls.push(`pods ${ns}`), ns === 'shop' ? ['web-1', 'web-2'] : ['client']),
  services: async (ns) => (calls.push(`services ${ns}`), ns === 'shop' ? ['web'] : ['kubernetes']),
  servicePorts: async (ns, name) => (ns === 'shop' && name === 'web' ? [{ name: 'http', port: 80 }, { port: 9090 }] : []),
  nodes: async () => ['node-1', 'node-2'],
  workloads: async (kind, ns) => (kind === 'Deployment' && ns === 'shop' ? ['web'] : []),
  contexts: () => ['lab', 'prod'],
};
const NO_FILES = DIRECTIVE.noFileComp;
const OPEN = DIRECTIVE.noFileComp | DIRECTIVE.noSpace;

describe('completeWords', () => {
  it.each([
    { name: 'empty source: kinds and pods', words: [''], candidates: ['pod/', 'svc/', 'node/', 'deploy/', 'sts/', 'ds/', 'client'], directive: NO_FILES },
    { name: 'kind prefix only: no space', words: ['s'], candidates: ['svc/', 'sts/'], directive: OPEN },
    { name: 'pods of the -n namespace', words: ['-n', 'shop', 'pod/'], candidates: ['pod/web-1', 'pod/web-2'], directive: NO_FILES },
    { name: 'pods of --namespace=', words: ['--namespace=shop', 'po/w'], candidates: ['po/web-1', 'po/web-2'], directive: NO_FILES },
    { name: 'services', words: ['client', 'svc/'], candidates: ['svc/kubernetes'], directive: NO_FILES },
    { name: 'nodes', words: ['node/'], candidates: ['node/node-1', 'node/node-2'], directive: NO_FILES },
    { name: 'deployments', words: ['-n', 'shop', 'deploy/'], candidates: ['deploy/web'], directive: NO_FILES },
    { name: 'namespace-qualified kinds and names', words: ['client', 'shop/'], candidates: ['shop/pod/', 'shop/svc/', 'shop/deploy/', 'shop/sts/', 'shop/ds/', 'shop/web-1', 'shop/web-2', 'shop/web'], directive: NO_FILES },
    { name: 'NS/svc/NAME', words: ['client', 'shop/svc/w'], candidates: ['shop/svc/web'], directive: NO_FILES },
    { name: 'ports of the chosen Service', words: ['client', 'shop/svc/web:'], candidates: ['shop/svc/web:http', 'shop/svc/web:80', 'shop/svc/web:9090'], directive: NO_FILES },
    { name: 'ports with -n and svc/', words: ['-n', 'shop', 'client', 'svc/web:h'], candidates: ['svc/web:http'], directive: NO_FILES },
    { name: 'destination bare names: pods and services', words: ['-n', 'shop', 'client', 'we'], candidates: ['web-1', 'web-2', 'web'], directive: NO_FILES },
    { name: '-o values', words: ['-o', ''], candidates: ['tui', 'text', 'json', 'ndjson'], directive: NO_FILES },
    { name: '--output= values', words: ['--output=j'], candidates: ['--output=json'], directive: NO_FILES },
    { name: '-o n: ndjson', words: ['client', 'svc/web', '-o', 'n'], candidates: ['ndjson'], directive: NO_FILES },
    { name: '--timeout values', words: ['--timeout', ''], candidates: ['1s', '2s', '5s', '10s'], directive: NO_FILES },
    { name: '--timeout= values', words: ['--timeout=1'], candidates: ['--timeout=1s', '--timeout=10s'], directive: NO_FILES },
    { name: '--request-timeout values', words: ['--request-timeout', ''], candidates: ['0', '5s', '30s', '1m'], directive: NO_FILES },
    { name: '--image: the default image', words: ['--image', ''], candidates: [DEFAULT_IMAGE], directive: NO_FILES },
    { name: '--image=', words: ['--image=nic'], candidates: [`--image=${DEFAULT_IMAGE}`], directive: NO_FILES },
    { name: '--token: free-form', words: ['--token', ''], candidates: [], directive: NO_FILES },
    { name: '--context values', words: ['--context', 'p'], candidates: ['prod'], directive: NO_FILES },
    { name: '-n values', words: ['-n', 's'], candidates: ['shop'], directive: NO_FILES },
    { name: '--kubeconfig: files', words: ['--kubeconfig', ''], candidates: [], directive: DIRECTIVE.default },
    { name: 'flag names', words: ['--k'], candidates: ['--keep', '--kubeconfig'], directive: NO_FILES },
    { name: 'nothing after two targets', words: ['client', 'svc/web', ''], candidates: [], directive: NO_FILES },
    { name: 'subcommands', words: ['c'], candidates: ['client', 'cleanup', 'completion'], directive: NO_FILES },
    { name: 'completion shells', words: ['completion', ''], candidates: ['bash', 'zsh', 'fish'], directive: NO_FILES },
  ])('$name', async ({ words, candidates, directive }) => {
    expect(await completeWords(words, source, 'default')).toEqual({ candidates, directive });
  });

  it('-o offers exactly the output modes the command line accepts (from its help)', async () => {
    const help = await parseCli(['--help'], { stdoutIsTTY: false, ci: false });
    const text = help.kind === 'print' ? help.text : '';
    const accepted = [...(/--output[\s\S]*?\[choices: ([^\]]*)\]/.exec(text)?.[1] ?? '').matchAll(/"([^"]+)"/g)].map((m) => m[1]);
    expect(accepted).toContain('ndjson');
    expect((await completeWords(['-o', ''], source, 'default')).candidates).toEqual(accepted);
    for (const mode of accepted) await expect(parseCli(['a', 'b', '-o', mode!], { stdoutIsTTY: false, ci: false })).resolves.toMatchObject({ kind: 'diagnose' });
  });

  it('answers with the error directive when the cluster fails', async () => {
    const failing = { ...source, pods: async () => Promise.reject(new Error('403')) };
    expect(await completeWords(['pod/'], failing, 'default')).toEqual({ candidates: [], directive: DIRECTIVE.error });
  });

  it('does not list services for a source', async () => {
    calls.length = 0;
    await completeWords([''], source, 'default');
    expect(calls).toEqual(['pods default']);
  });
});

describe('the words kubectl passes', () => {
  it('finds the connection flags in both spellings', () => {
    expect(
      connectionFlagsOf(scanWords(['--context', 'lab', '--kubeconfig=/k', '-n', 'shop', 'client', '--token=t', '-s', 'https://x', '--as', 'me', '--as-group', 'g1', '--as-group=g2', '--insecure-skip-tls-verify'])),
    ).toEqual({
      context: 'lab',
      kubeconfig: '/k',
      namespace: 'shop',
      token: 't',
      server: 'https://x',
      as: 'me',
      asGroups: ['g1', 'g2'],
      insecureSkipTlsVerify: true,
    });
    expect(connectionFlagsOf(scanWords(['--insecure-skip-tls-verify=false', '--keep']))).toEqual({});
  });

  it('formats one candidate a line and the directive last', () => {
    expect(formatCompletion({ candidates: ['a', 'b'], directive: 4 })).toBe('a\nb\n:4\n');
  });
});

describe('shell scripts', () => {
  beforeAll(() => void execFileSync('npm', ['run', '-s', 'build'], { cwd: repo, stdio: 'pipe' }), 120_000);

  it.each(['bash', 'zsh', 'fish'] as const)('%s script registers kubectl-netdebug and asks __complete', (shell) => {
    const s = completionScript(shell);
    expect(s).toContain('kubectl-netdebug __complete');
    expect(s).toMatch(shell === 'fish' ? /complete -c kubectl-netdebug/ : shell === 'zsh' ? /compdef _kubectl_netdebug kubectl-netdebug/ : /complete -F _kubectl_netdebug kubectl-netdebug/);
  });

  it('kubectl __complete netdebug runs bin/kubectl_complete-netdebug of the checkout', async () => {
    const out = await new Promise<string>((resolve, reject) =>
      execFile('kubectl', ['__complete', 'netdebug', 'client', '--output', ''], { env: { ...process.env, PATH: `${repo}bin:${process.env.PATH ?? ''}`, KUBECONFIG: '/nonexistent' }, timeout: 30_000 }, (err, stdout, stderr) =>
        err ? reject(new Error(stderr)) : resolve(stdout),
      ),
    );
    expect(out.split('\n').filter((l) => l !== '' && !l.startsWith('Completion ended'))).toEqual(['tui', 'text', 'json', 'ndjson', ':4']);
  });

  it('bash completes flag values through bin/kubectl-netdebug', async () => {
    const script = `source <(kubectl-netdebug completion bash)\nCOMP_WORDS=(kubectl-netdebug client -o t)\nCOMP_CWORD=3\n_kubectl_netdebug\nprintf '%s\\n' "\${COMPREPLY[@]}"`;
    const out = await new Promise<string>((resolve, reject) =>
      execFile('bash', ['-c', script], { env: { ...process.env, PATH: `${repo}bin:${process.env.PATH ?? ''}`, KUBECONFIG: '/nonexistent' }, timeout: 30_000 }, (err, stdout, stderr) =>
        err ? reject(new Error(stderr)) : resolve(stdout),
      ),
    );
    expect(out).toBe('tui\ntext\n');
  });
});
