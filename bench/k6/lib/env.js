// @ts-check
/* global __ENV */
/**
 * The run's settings, read from `k6 run -e NAME=value` (k6's __ENV). Every script reads its own
 * knobs through these helpers, so a mistyped value stops the run with one clear line instead of
 * turning into NaN somewhere in a schedule.
 */

/** Troupe's HTTP address without a trailing slash: `-e TROUPE_URL=http://host:8080` (`npm start` listens on 8080). */
export const BASE_URL = (__ENV.TROUPE_URL || 'http://127.0.0.1:8080').replace(/\/+$/, '');

/** The WebSocket endpoint of BASE_URL (http → ws, https → wss). */
export const WS_URL = `${BASE_URL.replace(/^http/, 'ws')}/v1/ws`;

/**
 * A whole number of at least `min` from `-e name=…`, or `fallback` when unset.
 * @param {string} name
 * @param {number} fallback
 * @param {number} [min]
 * @returns {number}
 */
export function intFromEnv(name, fallback, min = 1) {
  const raw = __ENV[name];
  const value = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isInteger(value) || value < min) throw new Error(`${name}: a whole number of at least ${min} is required, got "${raw}"`);
  return value;
}

/**
 * A positive number from `-e name=…`, or `fallback` when unset.
 * @param {string} name
 * @param {number} fallback
 * @returns {number}
 */
export function numberFromEnv(name, fallback) {
  const raw = __ENV[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name}: a positive number is required, got "${raw}"`);
  return value;
}

/**
 * A k6 duration ("30s", "2m", "1m30s") from `-e name=…`, or `fallback` when unset.
 * @param {string} name
 * @param {string} fallback
 * @returns {string}
 */
export function durationFromEnv(name, fallback) {
  const raw = __ENV[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^(\d+(\.\d+)?(ms|s|m|h))+$/.test(raw)) throw new Error(`${name}: a duration such as 30s, 2m or 1m30s is required, got "${raw}"`);
  return raw;
}

/**
 * Options every script shares. The access token travels in the WebSocket URL (docs/protocol.md),
 * so k6's `url` system tag would give every socket a metric series of its own: it is left out.
 * Setup registers and logs in every user, which takes a while against production password
 * hashing, hence the long setup timeout.
 */
export const COMMON_OPTIONS = {
  setupTimeout: durationFromEnv('SETUP_TIMEOUT', '10m'),
  systemTags: ['status', 'method', 'name', 'group', 'check', 'error', 'error_code', 'scenario', 'expected_response'],
};

/**
 * k6's console. The scripts are checked against @types/k6 alone (no DOM or Node library: k6 has
 * neither), which does not declare it, so it is taken from the global object once, here.
 * @type {{ log(...args: unknown[]): void, warn(...args: unknown[]): void, error(...args: unknown[]): void }}
 */
export const console = /** @type {any} */ (globalThis).console;

/**
 * The scenario every messaging script runs: VUs ramp up to `vus` over RAMP (default `rampDefault`),
 * stay for HOLD (2m), then ramp down; an iteration in progress (up to `iterationSeconds`) is let
 * finish its exchange rather than cut short, so its accounting stays whole.
 * @param {number} vus
 * @param {string} rampDefault
 * @param {number} iterationSeconds
 * @returns {import('k6/options').Scenario}
 */
export function rampingScenario(vus, rampDefault, iterationSeconds) {
  return {
    executor: 'ramping-vus',
    startVUs: 0,
    stages: [
      { duration: durationFromEnv('RAMP', rampDefault), target: vus },
      { duration: durationFromEnv('HOLD', '2m'), target: vus },
      { duration: '10s', target: 0 },
    ],
    gracefulRampDown: `${iterationSeconds}s`,
    gracefulStop: `${iterationSeconds}s`,
  };
}

/**
 * The thresholds every messaging script shares: ack and delivery p99 under their bounds
 * (ACK_P99_MS and DELIVERY_P99_MS, defaulting to the script's), nothing unacked or undelivered,
 * no error, every check passed.
 * @param {number} ackP99Ms
 * @param {number} deliveryP99Ms
 * @returns {Record<string, string[]>}
 */
export function messagingThresholds(ackP99Ms, deliveryP99Ms) {
  return {
    troupe_ack_ms: [`p(99)<${intFromEnv('ACK_P99_MS', ackP99Ms)}`],
    troupe_delivery_ms: [`p(99)<${intFromEnv('DELIVERY_P99_MS', deliveryP99Ms)}`],
    troupe_errors: ['count==0'],
    troupe_unacked: ['count==0'],
    troupe_undelivered: ['count==0'],
    checks: ['rate==1'],
  };
}
