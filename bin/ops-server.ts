/**
 * The operations listener of a logic, repo or task node: `/healthz` (the process answers),
 * `/readyz` (it serves: 503 while starting, draining, or while a unit it should host is claiming,
 * fenced or stuck, so a load balancer or orchestrator stops sending it work; the body says why),
 * `/units` (the node's placement units and their states, for `troupe status`) and `/metrics`
 * (Prometheus). Gateways answer the same paths on their own port.
 *
 * node:http is enough here: a few requests a minute from probes and scrapers.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TroupeMetrics } from '../actors/metrics.js';
import { readyzAnswer, type NodeStatus } from '../actors/runtime/node-status.js';

export interface OpsServer {
  port: number;
  close(): Promise<void>;
}

export async function startOpsServer(options: { host: string; port: number; metrics: TroupeMetrics; status: () => NodeStatus }): Promise<OpsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, contentType: string, body: string): void => {
      res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
      res.end(body);
    };
    const json = (status: number, value: unknown): void => send(status, 'application/json', JSON.stringify(value));
    if (req.method !== 'GET') return json(405, { error: { code: 'invalid_argument', message: 'only GET is served here' } });
    if (path === '/healthz') return json(200, { status: 'ok' });
    if (path === '/readyz') {
      const { status, body } = readyzAnswer(options.status());
      return json(status, body);
    }
    if (path === '/units') return json(200, options.status());
    if (path === '/metrics') {
      options.metrics.exposition().then(
        ({ contentType, text }) => send(200, contentType, text),
        () => json(500, { error: { code: 'internal', message: 'metrics unavailable' } }),
      );
      return;
    }
    json(404, { error: { code: 'not_found', message: `no route ${path}` } });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  server.removeAllListeners('error');
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
