/**
 * `pods/exec` over WebSocket: channel framing (v4 and v5), stdin close, resize, and the final status frame exactly as a
 * real apiserver sends it.
 */
import type { IncomingMessage } from 'node:http';
import { constants } from 'node:os';
import type { Duplex } from 'node:stream';
import { finished } from 'node:stream/promises';
import { WebSocketServer, type WebSocket } from 'ws';
import type { ExecProcess, ExecRequest } from '../model.ts';

/** The exec subprotocols the lab speaks, best first. */
const EXEC_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io'] as const;

const STDIN = 0;
const STDOUT = 1;
const STDERR = 2;
const STATUS = 3;
const RESIZE = 4;
const CLOSE = 255;

/** Picks the first subprotocol the client offers that the lab supports, or undefined. */
export function pickExecProtocol(offered: Iterable<string>): string | undefined {
  for (const p of offered) if ((EXEC_PROTOCOLS as readonly string[]).includes(p)) return p;
  return undefined;
}

/** Parses the Sec-WebSocket-Protocol header into the client's offer, in order. */
export function readOfferedProtocols(req: IncomingMessage): string[] {
  const header = req.headers['sec-websocket-protocol'];
  return (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',').map((p) => p.trim()).filter((p) => p !== '');
}

/** Parses exec query parameters into an ExecRequest. */
export function readExecRequest(namespace: string, pod: string, query: URLSearchParams): ExecRequest {
  const flag = (name: string) => ['true', '1'].includes((query.get(name) ?? '').toLowerCase());
  const container = query.get('container');
  const req: ExecRequest = {
    namespace,
    pod,
    command: query.getAll('command'),
    stdin: flag('stdin'),
    stdout: flag('stdout'),
    stderr: flag('stderr'),
    tty: flag('tty'),
  };
  if (container) req.container = container;
  return req;
}

/** The channel-3 Status a real apiserver sends when a command ends. */
export function formatExitStatus(command: readonly string[], exitCode: number | null, signal: string | null): Record<string, unknown> {
  if (exitCode === 0) return { metadata: {}, status: 'Success' };
  // a process killed by a signal reports 128 + the signal number, as container runtimes do
  const signalNumber = signal ? (constants.signals as Record<string, number>)[signal] : undefined;
  const code = exitCode ?? (signalNumber !== undefined ? 128 + signalNumber : 1);
  return {
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: error executing command [${command.join(' ')}], exit code ${code}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(code) }] },
  };
}

/** Parses a resize message with keys in any case ({Width,Height} from client-go, {width,height} from client-node). */
export function parseResize(data: Buffer): { width: number; height: number } | undefined {
  try {
    const parsed = JSON.parse(data.toString('utf8')) as Record<string, unknown>;
    const lower = Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k.toLowerCase(), v]));
    const width = Number(lower['width']);
    const height = Number(lower['height']);
    return Number.isFinite(width) && Number.isFinite(height) ? { width, height } : undefined;
  } catch {
    return undefined;
  }
}

/** Resolves once a stream has ended, errored or closed (also when that already happened). */
async function waitForEnd(stream: NodeJS.ReadableStream): Promise<void> {
  await finished(stream).catch(() => undefined);
}

/** Upgrades the connection and pumps a started exec process through the channel protocol until it ends. */
export function serveExecSocket(
  wss: WebSocketServer,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  execReq: ExecRequest,
  proc: ExecProcess,
): void {
  wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
    const v5 = ws.protocol === 'v5.channel.k8s.io';
    let open = true;
    const send = (channel: number, data: Buffer) => {
      if (open && ws.readyState === ws.OPEN) ws.send(Buffer.concat([Buffer.from([channel]), data]), { binary: true });
    };
    proc.stdout.on('data', (chunk: Buffer) => send(STDOUT, Buffer.from(chunk)));
    proc.stderr.on('data', (chunk: Buffer) => send(STDERR, Buffer.from(chunk)));
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary || data.length === 0) return;
      const channel = data[0];
      const payload = data.subarray(1);
      if (channel === STDIN) {
        if (payload.length > 0) proc.stdin?.write(payload);
      } else if (channel === RESIZE) {
        const size = parseResize(payload);
        if (size) proc.resize(size.width, size.height);
      } else if (channel === CLOSE && v5 && payload[0] === STDIN) proc.stdin?.end();
    });
    ws.on('close', () => {
      if (open) {
        open = false;
        proc.kill();
      }
    });
    ws.on('error', () => undefined);
    void (async () => {
      const result = await proc.exited;
      await Promise.all([waitForEnd(proc.stdout), waitForEnd(proc.stderr)]);
      send(STATUS, Buffer.from(JSON.stringify(formatExitStatus(execReq.command, result.exitCode, result.signal))));
      open = false;
      if (ws.readyState === ws.OPEN) ws.close(1000);
    })();
  });
}

/** Creates the noServer WebSocketServer exec upgrades go through. */
export function createExecSocketServer(): WebSocketServer {
  return new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    handleProtocols: (protocols: Set<string>) => pickExecProtocol(protocols) ?? false,
  });
}
