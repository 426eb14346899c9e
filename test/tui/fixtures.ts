/** Loads the recorded event streams in test/tui/fixtures (NDJSON, one RunEvent a line, recorded from lab runs). */
import { readFileSync } from 'node:fs';
import type { RunEvent } from '../../src/core/model.ts';

/** The recorded scenarios: each was a real run of default/client → shop/svc/web in that lab scenario. */
export const RECORDED = ['ip-forward-off', 'dns-server-down', 'kube-proxy-rules-missing', 'network-policy-deny', 'overlay-blocked', 'app-not-listening', 'service-no-endpoints', 'healthy-2-nodes'] as const;

/** One recorded scenario name. */
export type Recorded = (typeof RECORDED)[number];

/** Reads one recorded event stream. */
export function loadEvents(name: Recorded): RunEvent[] {
  const text = readFileSync(new URL(`./fixtures/${name}.ndjson`, import.meta.url), 'utf8');
  return text.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as RunEvent);
}
