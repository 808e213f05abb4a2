/**
 * The memory part of the run: idle connections on a fresh Troupe server (each its own registered
 * user, as in real use, so the per-user session state counts too), then the same number on the
 * bare uWebSockets.js peer, one server at a time so neither competes with the other.
 */
import type { BenchOptions } from './options.js';
import { HttpApi } from './http-api.js';
import { measureIdleMemory, type IdleMemoryResult } from './idle-memory.js';
import { registerUsers } from './population.js';
import { startRawUwsServer, startTroupeServer } from './server-process.js';

export interface MemoryPhaseResult {
  troupe: IdleMemoryResult;
  raw: IdleMemoryResult | undefined;
  /** Troupe's KiB per connection over raw uWS's. */
  ratio: number | undefined;
  /** Lines the Troupe server logged (at warn or above) during this phase. */
  troupeOutputLines: number;
}

export async function runMemoryPhase(options: BenchOptions, progress: (line: string) => void): Promise<MemoryPhaseResult> {
  progress(`memory: starting a fresh Troupe server for ${options.idle} idle connections`);
  const troupeServer = await startTroupeServer({ useDist: options.dist });
  let troupe: IdleMemoryResult;
  try {
    const api = new HttpApi(troupeServer.baseUrl);
    const sessions = await registerUsers(() => api, 'idle', options.idle, progress);
    const wsBase = troupeServer.baseUrl.replace(/^http/, 'ws');
    troupe = await measureIdleMemory(troupeServer, {
      count: options.idle,
      urlOf: (i) => `${wsBase}/v1/ws?token=${encodeURIComponent(sessions[i]!.accessToken)}`,
      readyOn: 'ready-frame',
      progress,
    });
    progress(`  troupe: ${perConnection(troupe)}`);
  } finally {
    await troupeServer.stop();
  }

  let raw: IdleMemoryResult | undefined;
  if (options.raw) {
    progress(`memory: starting the bare uWebSockets.js server for ${options.idle} idle connections`);
    const rawServer = await startRawUwsServer();
    try {
      const wsBase = rawServer.baseUrl.replace(/^http/, 'ws');
      raw = await measureIdleMemory(rawServer, { count: options.idle, urlOf: () => `${wsBase}/`, readyOn: 'open', progress });
      progress(`  raw uWS: ${perConnection(raw)}`);
    } finally {
      await rawServer.stop();
    }
  }
  const ratio = raw !== undefined && raw.perConnectionKiB > 0 ? troupe.perConnectionKiB / raw.perConnectionKiB : undefined;
  return { troupe, raw, ratio, troupeOutputLines: troupeServer.outputLines() };
}

function perConnection(r: IdleMemoryResult): string {
  return `RSS ${(r.rssBeforeKiB / 1024).toFixed(1)} → ${(r.rssAfterKiB / 1024).toFixed(1)} MiB, ${r.perConnectionKiB.toFixed(2)} KiB per connection`;
}
