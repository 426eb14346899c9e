import { describe, expect, it } from 'vitest';
import { canPull, formatGoDuration, imageFacts, parseImageRef, runsCommands, unreachableRegistryError, verifyRunAsNonRoot } from './images.ts';

describe('images', () => {
  it.each([
    ['busybox', 'docker.io/library/busybox:latest'],
    ['busybox:1.36', 'docker.io/library/busybox:1.36'],
    ['nicolaka/netshoot:v0.13', 'docker.io/nicolaka/netshoot:v0.13'],
    ['registry.k8s.io/pause:3.10', 'registry.k8s.io/pause:3.10'],
    ['localhost:5000/x/y', 'localhost:5000/x/y:latest'],
    ['mirror.local/netshoot@sha256:abc', 'mirror.local/netshoot@sha256:abc'],
  ])('normalizes %s to %s', (ref, full) => expect(parseImageRef(ref).full).toBe(full));

  it('runs the commands of debug images only (by name, in any registry): other images\' binaries are not on the host', () => {
    for (const image of ['nicolaka/netshoot:v0.13', 'nicolaka/netshoot:v0.13@sha256:a20c2531bf35436ed3766cd6cfe89d352b050ccc4d7005ce6400adf97503da1b', 'registry.local/mirror/netshoot:1', 'busybox', 'alpine:3.20', 'netbox']) {
      expect(runsCommands(image), image).toBe(true);
    }
    for (const image of ['registry.k8s.io/kube-proxy:v1.32.0', 'registry.k8s.io/coredns/coredns:v1.11.1', 'lab/responder', 'nginx', '']) {
      expect(runsCommands(image), image).toBe(false);
    }
  });

  it('knows which images run as root (no USER) and which as non-root', () => {
    expect(imageFacts('nicolaka/netshoot:v0.13').uid).toBe(0);
    expect(imageFacts('docker.io/library/busybox').uid).toBe(0);
    expect(imageFacts('lab/responder').uid).toBe(65532);
    expect(imageFacts('example.com/anything:1').uid).toBe(0);
    expect(imageFacts('example.com/anything:1').sizeBytes).toBe(imageFacts('example.com/anything:2').sizeBytes);
  });

  it('lets an air-gapped node pull only the listed images, compared normalized', () => {
    expect(canPull('nicolaka/netshoot', [])).toBe(true);
    expect(canPull('busybox:1.36', ['docker.io/library/busybox:1.36'])).toBe(true);
    expect(canPull('busybox', ['busybox:1.36'])).toBe(false);
    expect(unreachableRegistryError('quay.io/a/b:1')).toBe(
      'failed to pull and unpack image "quay.io/a/b:1": failed to resolve reference "quay.io/a/b:1": failed to do request: Head "https://quay.io/v2/a/b/manifests/1": dial tcp: lookup quay.io: i/o timeout',
    );
  });

  it.each([
    [0, '0s'],
    [313, '313ms'],
    [5419, '5.419s'],
    [40_000, '40s'],
    [40_010, '40.01s'],
    [60_500, '1m0.5s'],
    [3_723_000, '1h2m3s'],
  ])('formats %i ms as Go does: %s', (ms, text) => expect(formatGoDuration(ms)).toBe(text));

  it('checks runAsNonRoot as kubelet does: container over pod, runAsUser over the image user', () => {
    const root = { uid: 0, sizeBytes: 1 };
    const nonroot = { uid: 65532, sizeBytes: 1 };
    const desc = 'p_ns(u)';
    expect(verifyRunAsNonRoot({}, { name: 'c' }, root, desc)).toBeUndefined();
    expect(verifyRunAsNonRoot({ securityContext: { runAsNonRoot: true } }, { name: 'c' }, root, desc)).toBe('container has runAsNonRoot and image will run as root (pod: "p_ns(u)", container: c)');
    expect(verifyRunAsNonRoot({ securityContext: { runAsNonRoot: true } }, { name: 'c' }, nonroot, desc)).toBeUndefined();
    expect(verifyRunAsNonRoot({ securityContext: { runAsNonRoot: true, runAsUser: 1000 } }, { name: 'c' }, root, desc)).toBeUndefined();
    expect(verifyRunAsNonRoot({ securityContext: { runAsNonRoot: true, runAsUser: 1000 } }, { name: 'c', securityContext: { runAsUser: 0 } }, root, desc)).toBe(
      'container\'s runAsUser breaks non-root policy (pod: "p_ns(u)", container: c)',
    );
    expect(verifyRunAsNonRoot({ securityContext: { runAsNonRoot: true } }, { name: 'c', securityContext: { runAsNonRoot: false } }, root, desc)).toBeUndefined();
    expect(verifyRunAsNonRoot({}, { name: 'c', securityContext: { runAsNonRoot: true } }, { username: 'app', sizeBytes: 1 }, desc)).toBe(
      'container has runAsNonRoot and image has non-numeric user (app), cannot verify user is non-root (pod: "p_ns(u)", container: c)',
    );
  });
});
