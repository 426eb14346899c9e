/**
 * The shape the code keeps (architecture.md, issue 11): only src/kube/ talks to the API library; src/core/ is pure (no
 * Node I/O modules, no clock, no randomness) and never imports the adapters, the CLI or the reporters; no function of
 * the diagnosis (src/core/diagnose/) is longer than 60 lines, so each rule reads on its own.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseSync } from 'oxc-parser';
import { describe, expect, it } from 'vitest';

const src = fileURLToPath(new URL('../../src', import.meta.url));

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : /\.tsx?$/.test(e.name) ? [join(dir, e.name)] : []));
}

const all = files(src).map((path) => ({ path: relative(src, path), text: readFileSync(path, 'utf8') }));
const importsOf = (text: string): string[] => [...text.matchAll(/(?:from|import\()\s*'([^']+)'/g)].map((m) => m[1] as string);

/** Every function (declaration, expression, arrow, method) of a TypeScript file, with the lines it spans. */
function functionsOf(path: string, text: string): { name: string; line: number; lines: number }[] {
  const lineAt = (offset: number): number => text.slice(0, offset).split('\n').length;
  const found: { name: string; line: number; lines: number }[] = [];
  const visit = (node: unknown, name: string): void => {
    if (Array.isArray(node)) return node.forEach((n) => visit(n, name));
    if (typeof node !== 'object' || node === null) return;
    const n = node as { type?: string; start: number; end: number; id?: { name?: string }; key?: { name?: string } };
    if (n.type === 'FunctionDeclaration' || n.type === 'FunctionExpression' || n.type === 'ArrowFunctionExpression') {
      found.push({ name: n.id?.name ?? name, line: lineAt(n.start), lines: lineAt(n.end) - lineAt(n.start) + 1 });
    }
    const named = n.type === 'VariableDeclarator' ? (n.id?.name ?? name) : n.type === 'Property' || n.type === 'MethodDefinition' ? (n.key?.name ?? name) : name;
    for (const [k, v] of Object.entries(n)) if (k !== 'type' && k !== 'start' && k !== 'end') visit(v, named);
  };
  const { program, errors } = parseSync(path, text);
  if (errors.length > 0) throw new Error(`${path}: ${errors[0]?.message ?? 'parse error'}`);
  visit(program, '(anonymous)');
  return found;
}

describe('architecture', () => {
  it('no function in src/core/diagnose/ is longer than 60 lines (issue 11)', () => {
    const diagnose = all.filter((f) => f.path.startsWith('core/diagnose/'));
    expect(diagnose.length).toBeGreaterThan(20);
    const counted = diagnose.flatMap((f) => functionsOf(f.path, f.text).map((fn) => ({ ...fn, path: f.path })));
    // The parser sees the functions (a rule module has at least its finder), so an empty list is no pass.
    expect(counted.length).toBeGreaterThan(diagnose.length);
    expect(counted.filter((fn) => fn.lines > 60).map((fn) => `${fn.path}:${fn.line} ${fn.name} (${fn.lines} lines)`)).toEqual([]);
  });

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
