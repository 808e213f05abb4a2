/**
 * `--peer socketio|uws`: the systems Troupe is compared with (bench/peers/), imported only when
 * asked for, so `troupe bench` against Troupe works where the peers' dev dependencies are absent.
 */
import { TroupeError } from '../../transport/errors.js';
import type { LaunchOptions, RunningTarget } from '../lib/running-target.js';

export type PeerName = 'socketio' | 'uws';

export const PEER_NAMES: readonly PeerName[] = ['socketio', 'uws'];

export async function launchPeer(name: PeerName, options: LaunchOptions): Promise<RunningTarget> {
  if (name === 'socketio') {
    const module = await importPeer<{ launchSocketIoPeer(o: LaunchOptions): Promise<RunningTarget> }>(name, '../peers/socketio/launch.js');
    return module.launchSocketIoPeer(options);
  }
  const module = await importPeer<{ launchUwsBound(o: LaunchOptions): Promise<RunningTarget> }>(name, '../peers/uws/launch.js');
  return module.launchUwsBound(options);
}

/**
 * Imports a launcher by its path relative to this file. The path is a variable so that the type
 * check does not need the peers' modules (their shapes are fixed in bench/lib/running-target.ts).
 */
async function importPeer<T>(name: PeerName, specifier: string): Promise<T> {
  try {
    return (await import(specifier)) as T;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new TroupeError('config', `the ${name} peer needs the dev dependencies: run npm install in a checkout (${(err as Error).message.split('\n')[0]})`);
    }
    throw err;
  }
}
