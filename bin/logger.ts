/**
 * The process's logger: JSON lines on stdout (one object per line, for log shippers), each
 * with a timestamp, the node id and the role, at the level of config.logging.level, which
 * setLogLevel changes while the process runs (logging.level is a live key, config/live-keys.ts).
 */

import winston from 'winston';
import type { TroupeConfig } from '../config/types.js';

/** What code that logs needs; a test can pass any object with these methods. */
export type Logger = Pick<winston.Logger, 'error' | 'warn' | 'info' | 'debug' | 'child'>;

/**
 * Error objects in a log entry's fields become { name, message, code, stack }: JSON.stringify
 * would otherwise turn them into `{}`.
 */
const errorFields = winston.format((info) => {
  for (const [field, value] of Object.entries(info)) {
    if (value instanceof Error) {
      const code = (value as { code?: unknown }).code;
      info[field] = { name: value.name, message: value.message, ...(code === undefined ? {} : { code }), stack: value.stack };
    }
  }
  return info;
});

export function createLogger(config: TroupeConfig, role: string): Logger {
  return winston.createLogger({
    level: config.logging.level,
    defaultMeta: { node: config.node.id, role },
    format: winston.format.combine(winston.format.timestamp(), winston.format.errors({ stack: true }), errorFields(), winston.format.json()),
    transports: [new winston.transports.Console()],
  });
}

/**
 * Changes the level of a logger made by createLogger, and so of every child of it (a winston
 * child reads its parent's level), from the next log line on. A logger of another kind (a
 * test's) is left as it is.
 */
export function setLogLevel(logger: object, level: TroupeConfig['logging']['level']): void {
  if (logger instanceof winston.Logger) logger.level = level;
}
