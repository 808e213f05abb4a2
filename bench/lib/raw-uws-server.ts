/**
 * The bare uWebSockets.js peer of the memory benchmark: a child process that accepts WebSockets
 * on every path and does nothing with them, with the same socket settings as Troupe's gateway
 * (config/default.yaml: 1 MiB transport payload and backpressure limits, 120 s idle timeout, no
 * compression). What one idle connection costs here is the floor under Troupe's figure.
 *
 * Usage: node --import tsx bench/lib/raw-uws-server.ts <port>. GET /readyz answers 200.
 */
import uWS from 'uWebSockets.js';
import { assertNativeUws } from '../../transport/http/uws.js';

const MIB = 1024 * 1024;

function main(): void {
  const port = Number(process.argv[2]);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) {
    process.stderr.write('usage: raw-uws-server.ts <port>\n');
    process.exit(2);
  }
  assertNativeUws();
  const app = uWS.App();
  app.ws('/*', {
    maxPayloadLength: MIB,
    maxBackpressure: MIB,
    idleTimeout: 120,
    compression: uWS.DISABLED,
  });
  app.get('/readyz', (res) => {
    res.end('ok');
  });
  app.listen('127.0.0.1', port, (listenSocket) => {
    if (listenSocket === false) {
      process.stderr.write(`raw-uws-server: cannot listen on 127.0.0.1:${port}\n`);
      process.exit(1);
    }
  });
  // A default SIGTERM would also end the process, but with status 143; exit cleanly instead.
  process.on('SIGTERM', () => process.exit(0));
}

main();
