/**
 * Module resolution hooks for a stand-in VU thread: the bare specifiers of the k6 modules a script
 * imports resolve to this folder's stand-ins. Any other k6 module is refused by name, so a script
 * that starts using one fails here instead of half working.
 */
import type { ResolveHook } from 'node:module';

const STAND_INS: Record<string, string> = {
  k6: './k6.ts',
  'k6/http': './http.ts',
  'k6/metrics': './metrics.ts',
  'k6/timers': './timers.ts',
  'k6/websockets': './websockets.ts',
};

export const resolve: ResolveHook = (specifier, context, next) => {
  if (specifier !== 'k6' && !specifier.startsWith('k6/')) return next(specifier, context);
  const file = STAND_INS[specifier];
  if (file === undefined) throw new Error(`the k6 stand-in does not emulate ${specifier} (it has ${Object.keys(STAND_INS).join(', ')})`);
  // Through the rest of the chain, so tsx loads the TypeScript stand-in.
  return next(new URL(file, import.meta.url).href, context);
};
