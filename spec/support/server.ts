/**
 * Starts the embedded Troupe server (every role in one process) for the protocol specs: a free
 * port on 127.0.0.1, a fresh data folder, quiet logs, cheap password hashing and no environment
 * variables from the machine, so a spec sees exactly the configuration it asks for.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { UnitRegistry } from '../../actors/runtime/unit-registry.js';
import { startEmbedded } from '../../bin/embedded.js';
import { loadConfig } from '../../config/load.js';

export interface TestServer {
  port: number;
  /** `http://127.0.0.1:<port>` */
  baseUrl: string;
  /** The WebSocket address for an access token. */
  wsUrl(token: string): string;
  dataDir: string;
  /** The server's unit registry: a spec moves a unit through its states to drive /readyz and /units. */
  units: UnitRegistry;
  /** Drains the server; removes the data folder unless it was kept. Idempotent. */
  stop(): Promise<void>;
}

export interface TestServerOptions {
  /** Reuse this data folder (e.g. to restart on the same data); default a new temp folder. */
  dataDir?: string;
  /** Leave the data folder in place on stop (the caller removes it). */
  keepDataDir?: boolean;
}

/** Settings every spec server gets; `overrides` (dotted keys) win over them. */
const SPEC_DEFAULTS: Record<string, unknown> = {
  'gateway.port': 0,
  'gateway.host': '127.0.0.1',
  'logging.level': 'error',
  // Hashing parameters far below OWASP's, so that registering hundreds of users stays fast.
  'auth.argon2.memoryKiB': 1024,
  'auth.argon2.iterations': 1,
};

export async function startTestServer(
  overrides: Record<string, unknown> = {},
  options: TestServerOptions = {},
): Promise<TestServer> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'troupe-spec-')));
  const keep = options.keepDataDir ?? false;
  let embedded: Awaited<ReturnType<typeof startEmbedded>>;
  try {
    const config = await loadConfig({ overrides: { ...SPEC_DEFAULTS, dataDir, ...overrides }, env: {} });
    embedded = await startEmbedded(config);
  } catch (err) {
    if (!keep) await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
  const { port } = embedded;
  let stopping: Promise<void> | undefined;
  return {
    port,
    baseUrl: `http://127.0.0.1:${port}`,
    wsUrl: (token: string) => `ws://127.0.0.1:${port}/v1/ws?token=${encodeURIComponent(token)}`,
    dataDir,
    units: embedded.units,
    stop() {
      stopping ??= (async () => {
        try {
          await embedded.stop();
        } finally {
          if (!keep) await rm(dataDir, { recursive: true, force: true });
        }
      })();
      return stopping;
    },
  };
}
