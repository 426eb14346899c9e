/**
 * The shape the code keeps (architecture.md, issue 11): only src/kube/ talks to the API library; src/core/ is pure (no
 * Node I/O modules, no clock, no randomness) and never imports the adapters, the CLI or the reporters.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const src = fileURLToPath(new URL('../../src', import.meta.url));

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : /\.tsx?$/.test(e.name) ? [join(dir, e.name)] : []));
}

const all = files(src).map((path) => ({ path: relative(src, path), text: readFileSync(path, 'utf8') }));
const importsOf = (text: string): string[] => [...text.matchAll(/(?:from|import\()\s*'([^']+)'/g)].map((m) => m[1] as string);

describe('architecture', () => {
  it('only src/kube/ names @kubernetes/client-node', () => {
    expect(all.filter((f) => !f.path.startsWith('kube/') && f.text.includes('@kubernetes/client-node')).map((f) => f.path)).toEqual([]);
  });

  it('src/core/ imports no Node module and nothing outside src/core/', () => {
    const core = all.filter((f) => f.path.startsWith('core/'));
    expect(core.length).toBeGreaterThan(10);
    const bad = core.flatMap((f) => importsOf(f.text).filter((i) => i.startsWith('node:') || (i.startsWith('.') && !isInside(f.path, i))).map((i) => `${f.path}: ${i}`));
    expect(bad).toEqual([]);
  });

  it('src/core/ reads no clock and draws no random number (time and chance are passed in)', () => {
    const core = all.filter((f) => f.path.startsWith('core/'));
    expect(core.filter((f) => /Date\.now\(|performance\.now\(|Math\.random\(|new Date\(\)/.test(f.text)).map((f) => f.path)).toEqual([]);
  });
});

/** Whether a relative import from a core file stays inside src/core/. */
function isInside(from: string, spec: string): boolean {
  const parts = from.split('/').slice(0, -1);
  for (const seg of spec.split('/')) {
    if (seg === '..') parts.pop();
    else if (seg !== '.') parts.push(seg);
  }
  return parts[0] === 'core';
}
