/**
 * The cluster settings a role cannot start without, read from the configuration with one-line
 * errors that name the key, its flag and its variable (exit status 2 through bin/troupe.ts).
 */
import type { TroupeConfig } from '../../config/types.js';
import { TroupeError } from '../../transport/errors.js';

type Required = 'brokers' | 'etcd' | 'redis' | 'mysql';

const WHERE: Record<Required, { key: string; flag: string; variable: string; example: string }> = {
  brokers: { key: 'cluster.brokers', flag: '--brokers', variable: 'TROUPE_CLUSTER__BROKERS', example: 'kafka1:9092,kafka2:9092' },
  etcd: { key: 'cluster.etcd', flag: '--etcd', variable: 'TROUPE_CLUSTER__ETCD', example: 'http://etcd1:2379' },
  redis: { key: 'cluster.redisUrl', flag: '--redis', variable: 'TROUPE_CLUSTER__REDIS_URL', example: 'redis://redis:6379' },
  mysql: { key: 'storage.url', flag: '--mysql', variable: 'TROUPE_STORAGE__URL', example: 'mysql://troupe:secret@mysql:3306/troupe' },
};

function valueOf(config: TroupeConfig, what: Required): string {
  switch (what) {
    case 'brokers': return config.cluster.brokers;
    case 'etcd': return config.cluster.etcd;
    case 'redis': return config.cluster.redisUrl;
    case 'mysql': return config.storage.url;
  }
}

/** The setting's value split on commas; `config` error when it is empty. */
export function requireList(config: TroupeConfig, what: Required, role: string): string[] {
  const items = valueOf(config, what).split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (items.length === 0) {
    const w = WHERE[what];
    throw new TroupeError('config', `${w.key} is empty: troupe ${role} needs it; pass ${w.flag} ${w.example} or set ${w.variable}`);
  }
  return items;
}

export function requireOne(config: TroupeConfig, what: Required, role: string): string {
  return requireList(config, what, role).join(',');
}
