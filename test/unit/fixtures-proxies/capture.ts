/**
 * Captures what a node of each proxy example scenario shows (`iptables-legacy-save`, `iptables-nft-save`,
 * `nft list ruleset`) into test/unit/fixtures-proxies/<scenario>/<command>.txt, with the `# cmd:` / `# exit:` header of
 * test/unit/fixtures/capture-lab.ts, so the plugin's parsers can be tested on the cluster shapes the lab builds. Each
 * scenario is brought up with `lab up`, read in node-1's network namespace, and torn down by its id (even on failure).
 * These files live apart from test/unit/fixtures, whose every file parse.test.ts must cover.
 * Run as root from the repository root: npx node test/unit/fixtures-proxies/capture.ts [SCENARIO...]
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';

/** A scenario and the commands read from its node-1. */
interface Session {
  scenario: string;
  commands: { name: string; argv: string[] }[];
}

const ROOT = new URL('../../../', import.meta.url);

const SESSIONS: Session[] = [
  {
    // kube-proxy iptables mode, flannel and NetworkPolicy-free nodes, everything in the legacy x_tables.
    scenario: 'healthy-legacy-iptables',
    commands: [
      { name: 'iptables-legacy-save', argv: ['iptables-legacy-save'] },
      { name: 'iptables-nft-save', argv: ['iptables-nft-save'] },
    ],
  },
  {
    // kube-proxy nftables mode: table ip kube-proxy, flannel's chains in the nft backend, no KUBE-* chain.
    scenario: 'healthy-nftables',
    commands: [
      { name: 'nft-list-ruleset', argv: ['nft', 'list', 'ruleset'] },
      { name: 'iptables-nft-save', argv: ['iptables-nft-save'] },
      { name: 'iptables-legacy-save', argv: ['iptables-legacy-save'] },
    ],
  },
  {
    // FORWARD policy DROP with FLANNEL-FWD and KUBE-FORWARD accepting, nft backend.
    scenario: 'healthy-forward-drop',
    commands: [{ name: 'iptables-nft-save', argv: ['iptables-nft-save'] }],
  },
  {
    // The fault on node-2 flushes the accept rules; node-1 shows the healthy DROP, captured from node-2 below.
    scenario: 'forward-policy-drop-with-accept-rules',
    commands: [{ name: 'iptables-nft-save-node-2', argv: ['iptables-nft-save', '-t', 'filter'] }],
  },
  {
    // internalTrafficPolicy Local: node-1 has no local endpoint of shop/web (DROP in the filter table).
    scenario: 'internal-traffic-local',
    commands: [{ name: 'iptables-nft-save', argv: ['iptables-nft-save'] }],
  },
];

/** Runs a command to completion; throws when it cannot start. */
function run(cmd: string, args: string[]) {
  const res = spawnSync(cmd, args, { encoding: 'utf8', cwd: ROOT });
  if (res.error) throw res.error;
  return res;
}

const wanted = process.argv.slice(2);
for (const session of SESSIONS.filter((s) => wanted.length === 0 || wanted.includes(s.scenario))) {
  const up = run('npm', ['run', '-s', 'lab', '--', 'up', `test/lab/scenarios/${session.scenario}.yaml`]);
  const kubeconfig = up.stdout.trim().split('\n')[0] ?? '';
  const id = /\/netdebug-lab\/([0-9a-f]+)\/kubeconfig$/.exec(kubeconfig)?.[1];
  if (up.status !== 0 || !id) throw new Error(`lab up ${session.scenario} failed: ${up.stdout}${up.stderr}`);
  try {
    for (const c of session.commands) {
      const node = c.name.endsWith('-node-2') ? 2 : 1;
      const netns = `nd${id}-n${node}`;
      // stderr into the same pipe keeps the order the tools wrote in (iptables-nft-save warns about legacy tables there).
      const res = run('sh', ['-c', 'exec "$@" 2>&1', 'sh', 'ip', 'netns', 'exec', netns, ...c.argv]);
      const dir = new URL(`./${session.scenario}/`, import.meta.url);
      mkdirSync(dir, { recursive: true });
      writeFileSync(new URL(`${c.name}.txt`, dir), `# cmd: ${c.argv.join(' ')}\n# exit: ${String(res.status)}\n${res.stdout}`);
      console.log(`${session.scenario}/${c.name}.txt (lab ${id} ${netns}, exit ${String(res.status)})`);
    }
  } finally {
    run('npm', ['run', '-s', 'lab', '--', 'down', id]);
  }
}
