/** One flag table: every flag it lists is parsed by yargs, shown in --help and offered by tab completion, with its values. */
import { describe, expect, it } from 'vitest';
import { parseCli } from '../../src/cli.ts';
import { completeWords, type CompletionSource } from '../../src/completion.ts';
import { FLAGS } from '../../src/flags.ts';

const none = async (): Promise<string[]> => [];
const source: CompletionSource = { namespaces: async () => ['shop'], pods: none, services: none, servicePorts: async () => [], nodes: none, workloads: none, contexts: () => ['lab'] };
const env = { stdoutIsTTY: false, ci: false };

async function helpOf(argv: string[]): Promise<string> {
  const cmd = await parseCli(argv, env);
  if (cmd.kind !== 'print') throw new Error('expected help text');
  return cmd.text;
}

describe('the flag table', () => {
  it.each(FLAGS.map((f) => ({ name: f.name, f })))('--$name: in help, completed, and parsed', async ({ f }) => {
    const help = await helpOf(f.cleanupOnly ? ['cleanup', '--help'] : ['--help']);
    expect(help).toContain(`--${f.name}`);
    if (f.alias) expect(help).toContain(`-${f.alias}`);
    const names = await completeWords(['--'], source, 'default');
    expect(names.candidates).toContain(`--${f.name}`);
    if (f.type === 'string' && f.values?.kind === 'fixed') {
      const values = await completeWords([`--${f.name}`, ''], source, 'default');
      expect(values.candidates).toEqual([...f.values.values]);
    }
  });

  it('a flag value from the cluster or the kubeconfig comes from the completion source', async () => {
    expect((await completeWords(['-n', ''], source, 'default')).candidates).toEqual(['shop']);
    expect((await completeWords(['--context', ''], source, 'default')).candidates).toEqual(['lab']);
  });

  it('completion offers no flag the table does not have (besides help and version)', async () => {
    const offered = (await completeWords(['--'], source, 'default')).candidates;
    const known = new Set([...FLAGS.map((f) => `--${f.name}`), '--help', '--version']);
    expect(offered.filter((c) => !known.has(c))).toEqual([]);
  });
});
