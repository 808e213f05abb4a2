#!/usr/bin/env node
/**
 * The `troupe` command: parses the command line, loads the configuration and runs a command.
 *
 * Exit status: 0 done (help and version included); 2 for an invalid command line or
 * configuration, printed as one `troupe: <message>` line on stderr without a stack, since
 * the fix is the user's; 1 for any other failure, logged with its stack. A command that
 * leaves servers running (dev) keeps the process alive; this file never exits under it.
 */

import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../config/load.js';
import type { TroupeConfig } from '../config/types.js';
import { isTroupeError } from '../transport/errors.js';
import { parseArgs } from './cli/args.js';
import { helpText } from './cli/help.js';
import { createLogger } from './logger.js';

async function main(argv: readonly string[]): Promise<void> {
  // `troupe bench` has its own command line and help (bench/lib/bench-options.ts) and needs no
  // configuration; it is imported only when asked for.
  if (argv[0] === 'bench' || (argv[0] === 'help' && argv[1] === 'bench')) {
    const { benchCommand } = await import('../bench/cli.js');
    const status = await benchCommand(argv[0] === 'help' ? ['--help'] : argv.slice(1));
    process.exitCode = status;
    // Everything the run started is stopped; should a stray handle (a keep-alive socket, a
    // client of a stopped service) hold the process, it still ends soon after the report.
    setTimeout(() => process.exit(status), 5000).unref();
    return;
  }
  let config: TroupeConfig | undefined;
  try {
    const action = parseArgs(argv);
    if (action.kind === 'help') {
      process.stdout.write(helpText(action.command));
      return;
    }
    if (action.kind === 'version') {
      process.stdout.write(`troupe ${version()}\n`);
      return;
    }

    config = loadConfig({ file: action.configFile, env: process.env, overrides: action.overrides });
    switch (action.command) {
      case 'dev':
        await (await import('./commands/dev.js')).runDev(config);
        break;
      case 'migrate':
        await (await import('./commands/migrate.js')).runMigrate(config);
        break;
      case 'gateway':
        await (await import('./commands/gateway.js')).runGateway(config);
        break;
      case 'logic':
        await (await import('./commands/logic.js')).runLogic(config);
        break;
      case 'repo':
        await (await import('./commands/repo.js')).runRepo(config);
        break;
      case 'task':
        await (await import('./commands/task.js')).runTask(config);
        break;
      case 'local-cluster': {
        const { localClusterOptions, runLocalCluster } = await import('./commands/local-cluster.js');
        await runLocalCluster(config, localClusterOptions(action.options, action.flags, action.configFile));
        break;
      }
      case 'config':
        process.exitCode = await (await import('./commands/config.js')).runConfig(config, action.operands ?? []);
        break;
      case 'status': {
        const url = action.flags?.url;
        process.exitCode = await (await import('./commands/status.js')).runStatus(config, {
          json: action.flags?.json === true,
          timeoutMs: action.options.timeoutMs ?? 2000,
          etcdFlag: action.overrides['cluster.etcd'] !== undefined,
          ...(typeof url === 'string' ? { url } : {}),
        });
        break;
      }
    }
  } catch (err) {
    const status = await report(err, config);
    // A half-started command may hold sockets or timers open; do not wait for them.
    process.exit(status);
  }
}

/** Prints the failure and returns the exit status. */
async function report(err: unknown, config: TroupeConfig | undefined): Promise<number> {
  if (isTroupeError(err, 'config')) {
    process.stderr.write(`troupe: ${err.message.split('\n')[0]}\n`);
    return 2;
  }
  if (config === undefined) {
    process.stderr.write(`troupe: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  } else {
    createLogger(config, 'cli').error('troupe failed', { err });
    // Let the log line reach stdout before the process exits.
    await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
  }
  return 1;
}

/** package.json is one level up from bin/troupe.ts and two from dist/bin/troupe.js. */
function version(): string {
  for (const candidate of ['../package.json', '../../package.json']) {
    const file = fileURLToPath(new URL(candidate, import.meta.url));
    if (!existsSync(file)) continue;
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown; version?: unknown };
    if (pkg.name === 'troupe' && typeof pkg.version === 'string') return pkg.version;
  }
  return 'unknown';
}

void main(process.argv.slice(2));
