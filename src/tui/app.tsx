/**
 * The interactive TUI: an event store fed by the run, the App component (layout, keys, the one owner of `exit()`), and
 * the `-o tui` Reporter that renders it with Ink and resolves with the verdict's exit code when the user quits.
 */
import { Box, render, renderToString, useApp, useInput, useWindowSize, type Instance, type Key } from 'ink';
import { useEffect, useRef, useState, useSyncExternalStore, type ReactNode } from 'react';
import type { RunEvent } from '../core/model.ts';
import type { Reporter } from '../report/reporter.ts';
import { applyEvent, createInitialState, type TuiState } from './state.ts';
import { buildDrillLines, clampOffset, DrillDown, Help, MainView } from './views.tsx';

/** A tiny external store: the run dispatches events, the App subscribes. */
export interface TuiStore {
  getState(): TuiState;
  dispatch(event: RunEvent): void;
  subscribe(listener: () => void): () => void;
}

/** Creates a store whose state is `applyEvent` folded over the dispatched events. */
export function createTuiStore(initial: TuiState): TuiStore {
  let state = initial;
  const listeners = new Set<() => void>();
  return {
    getState: () => state,
    dispatch(event) {
      state = applyEvent(state, event);
      for (const l of listeners) l();
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

/** What the App resolves `waitUntilExit()` with. */
export type TuiExit = { kind: 'quit'; exitCode: number | undefined } | { kind: 'interrupted' };

/** App props; `size` and `now` are for tests (a real terminal reports its size, time comes from Date.now). */
export interface AppProps {
  store: TuiStore;
  color: boolean;
  exitOnVerdict: boolean;
  size?: { columns: number; rows: number };
  now?: () => number;
}

type Mode = 'main' | 'drill' | 'help';

/** The whole screen. Owns exit(): q after the verdict, --exit-on-verdict, or Ctrl-C / q mid-run (interrupted). */
export function App(props: AppProps): ReactNode {
  const state = useSyncExternalStore(props.store.subscribe, props.store.getState);
  const { exit } = useApp();
  const win = useWindowSize();
  // The width is left to Ink, which lays the root out at the terminal's width before it redraws for a resize; a width
  // from useWindowSize would be one frame late, and that frame's too-wide lines wrap and stay above the next one.
  const width = props.size ? { width: props.size.columns } : {};
  const rows = props.size?.rows ?? (win.rows || 24);
  const [selected, setSelected] = useState(0);
  const [mode, setModeState] = useState<Mode>('main');
  // Keys of one chunk are handled before React re-renders, so they read the mode from a ref.
  const modeRef = useRef<Mode>('main');
  const setMode = (m: Mode): void => {
    modeRef.current = m;
    setModeState(m);
  };
  const [offset, setOffset] = useState(0);
  const [tick, setTick] = useState(0);
  const now = props.now ?? Date.now;
  const done = state.exitCode !== undefined;

  useEffect(() => {
    if (done) return undefined;
    const t = setInterval(() => setTick((n) => n + 1), 120);
    return () => clearInterval(t);
  }, [done]);

  useEffect(() => {
    if (done && props.exitOnVerdict) exit({ kind: 'quit', exitCode: state.exitCode } satisfies TuiExit);
  }, [done, props.exitOnVerdict, exit, state.exitCode]);

  const row = state.rows[Math.min(selected, state.rows.length - 1)];
  const drillHeight = rows - 1;
  const drillTotal = row ? buildDrillLines(row, state).length : 0;
  const page = Math.max(1, drillHeight - 3);
  const scroll = (delta: number): void => setOffset((o) => clampOffset(o + delta, drillTotal, Math.max(1, drillHeight - 2)));

  useInput((input, key) => {
    // Keys typed faster than a read arrive as one chunk ("jj\r"): handle them one by one.
    if (input.length > 1 && !key.ctrl && !key.meta) {
      for (const ch of input) onKey(ch === '\r' ? '' : ch, { ...key, return: ch === '\r' });
      return;
    }
    onKey(input, key);
  });

  function onKey(input: string, key: Key): void {
    if (key.ctrl && input === 'c') {
      exit({ kind: 'interrupted' } satisfies TuiExit);
      return;
    }
    if (input === 'q') {
      exit((done ? { kind: 'quit', exitCode: state.exitCode } : { kind: 'interrupted' }) satisfies TuiExit);
      return;
    }
    if (input === '?') {
      setMode(modeRef.current === 'help' ? 'main' : 'help');
      return;
    }
    if (key.escape) {
      setMode('main');
      return;
    }
    if (modeRef.current === 'drill') {
      if (key.upArrow || input === 'k') scroll(-1);
      else if (key.downArrow || input === 'j') scroll(1);
      else if (key.pageUp) scroll(-page);
      else if (key.pageDown || input === ' ') scroll(page);
      return;
    }
    if (modeRef.current === 'main') {
      if (key.upArrow || input === 'k') setSelected((s) => Math.max(0, s - 1));
      else if (key.downArrow || input === 'j') setSelected((s) => Math.min(state.rows.length - 1, s + 1));
      else if (key.return) {
        setOffset(0);
        setMode('drill');
      }
    }
  }

  const elapsedMs = elapsedOf(state, now);
  // tick is read so the spinner and elapsed time re-render while the run is live.
  void tick;
  if (mode === 'drill' && row) {
    return (
      <Box flexDirection="column" {...width}>
        <DrillDown row={row} state={state} offset={offset} height={drillHeight} color={props.color} />
      </Box>
    );
  }
  if (mode === 'help') {
    return (
      <Box flexDirection="column" {...width}>
        <Help />
      </Box>
    );
  }
  // 2 header + ladder (title + rows) + path (6) + footer (1); the verdict gets what is left, at least 2 lines.
  const used = 2 + 1 + state.rows.length + 6 + 1;
  const verdictLines = Math.max(2, rows - used - 1);
  return (
    <Box flexDirection="column" {...width}>
      <MainView
        state={state}
        elapsedMs={elapsedMs}
        selected={selected}
        tick={tick}
        color={props.color}
        showCursor
        verdictLines={verdictLines}
        footer={done ? '↑/↓ select · Enter open · ? keys · q quit' : '↑/↓ select · Enter open · ? keys · q/Ctrl-C interrupt'}
      />
    </Box>
  );
}

/** The run's wall time once finished, else the time since it started. */
function elapsedOf(state: TuiState, now: () => number): number {
  return state.wallMs ?? (state.startedAt !== undefined ? Math.max(0, now() - state.startedAt) : 0);
}

/**
 * The main screen as text, every verdict line included and no key line: what the reporter leaves on the normal screen
 * when the UI (drawn on the alternate screen) exits, so the verdict stays in the terminal's history.
 */
export function renderFinalScreen(state: TuiState, opts: { color: boolean; columns: number; interrupted: boolean; now?: () => number }): string {
  return renderToString(
    <Box flexDirection="column" width={opts.columns}>
      <MainView state={state} elapsedMs={elapsedOf(state, opts.now ?? Date.now)} selected={0} tick={0} color={opts.color} showCursor={false} verdictLines={Number.POSITIVE_INFINITY} interrupted={opts.interrupted} />
    </Box>,
    { columns: opts.columns },
  );
}

/** Options of the `-o tui` reporter. */
export interface TuiReporterOptions {
  color: boolean;
  exitOnVerdict: boolean;
  context: string;
  /** Called after the UI unmounted when the user interrupted (Ctrl-C or q mid-run); main raises SIGINT here. */
  onInterrupt: () => void;
  stdout?: NodeJS.WriteStream;
  stdin?: NodeJS.ReadStream;
}

/** The `-o tui` reporter: renders the App, feeds it events, and on finish waits for the user to quit. */
export function createTuiReporter(opts: TuiReporterOptions): Reporter & { exitCode(): number | undefined } {
  const store = createTuiStore(createInitialState(opts.context));
  let instance: Instance | undefined;
  let exited = false;
  let exitResult: TuiExit | undefined;
  const stdout = opts.stdout ?? process.stdout;
  const start = (): Instance => {
    const inst = render(<App store={store} color={opts.color} exitOnVerdict={opts.exitOnVerdict} />, {
      exitOnCtrlC: false,
      patchConsole: false,
      // main only creates this reporter for a terminal outside CI, so Ink need not guess.
      interactive: true,
      // A screen of its own (like less or htop): redrawn in place, it never leaves stale frames in the terminal's
      // scrollback, which a terminal that reflows on resize would otherwise pull back above the new frame.
      alternateScreen: true,
      stdout,
      ...(opts.stdin ? { stdin: opts.stdin } : {}),
    });
    void inst.waitUntilExit().then(
      (r) => {
        exited = true;
        exitResult = r as TuiExit | undefined;
        // Ink has left the alternate screen: leave the last state on the normal one.
        if (exitResult) stdout.write(`${renderFinalScreen(store.getState(), { color: opts.color, columns: stdout.columns || 80, interrupted: exitResult.kind === 'interrupted' })}\n`);
        if (exitResult?.kind === 'interrupted') opts.onInterrupt();
      },
      () => {
        exited = true;
      },
    );
    return inst;
  };
  return {
    onEvent(event) {
      if (exited) return;
      // The event first, so the first frame already shows the targets (run-started) rather than an empty header.
      store.dispatch(event);
      instance ??= start();
    },
    async finish() {
      if (!instance || exited) return;
      const state = store.getState();
      // Without a verdict the run failed (main prints the error): leave the screen at once.
      if (state.exitCode === undefined) {
        instance.unmount();
        await instance.waitUntilExit().catch(() => undefined);
        return;
      }
      await instance.waitUntilExit().catch(() => undefined);
    },
    exitCode: () => (exitResult?.kind === 'quit' ? exitResult.exitCode : undefined),
  };
}
