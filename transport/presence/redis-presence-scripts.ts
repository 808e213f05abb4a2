/**
 * The Lua scripts behind RedisPresence (redis.ts).
 *
 * A user's presence is one hash, `connId → "<gatewayId>|<expiresAtMs>"`, whose key expires no
 * earlier than its latest field. Redis 7.0 has no per-field TTL, so each field carries its own
 * expiry and the scripts honour it: lookups return only live fields and delete the expired ones
 * they meet; refresh rewrites the expiry of live fields only (so a removed or expired entry is
 * never revived); add and refresh raise the key's PEXPIRE to cover the new expiry, never lower it,
 * so a dead gateway's entries vanish with their key without anyone looking them up. (A dead
 * gateway's field in the hash of a user who stays online elsewhere outlives its expiry only
 * until the next lookup of that user, which every message to them makes.)
 *
 * Why scripts and not plain pipelined commands: refresh must not write a field that a concurrent
 * `remove` just deleted, and a lookup must not delete a field that a concurrent `add` just
 * rewrote; a script reads and writes a key atomically, in the same round trip.
 *
 * Why the server's clock (TIME inside the script): every expiry is then read and written on the
 * one clock that also runs the key-level PEXPIRE, whatever the skew between the gateways and
 * logic nodes that call, and it costs no extra round trip. Redis 7 replicates a script's effects,
 * not the script, so calling TIME before writing is allowed.
 *
 * The lookup and refresh scripts take many keys, so that a batch is one command; callers cut
 * large batches into chunks (one pipeline, still one round trip) to bound how long one script
 * holds the server.
 */
import type { Redis, Result } from 'ioredis';

/** Milliseconds on the server's clock. */
const NOW = `
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
`;

/** The expiry of a field value and the position of the '|' before it; nil for a malformed value. */
const EXPIRY_OF = `
local function expiry_of(value)
  local bar = string.find(value, '|%d+$')
  if bar == nil then return nil, nil end
  return tonumber(string.sub(value, bar + 1)), bar
end
`;

/** KEYS[1] user; ARGV connId, gatewayId, ttlMs. */
const ADD = `${NOW}
local ttl = tonumber(ARGV[3])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. '|' .. string.format('%.0f', now_ms() + ttl))
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return 1
`;

/** KEYS[i] user of entry i; ARGV[1] ttlMs, ARGV[i + 1] connId of entry i. Returns the count refreshed. */
const REFRESH = `${NOW}${EXPIRY_OF}
local ttl = tonumber(ARGV[1])
local now = now_ms()
local expires = string.format('%.0f', now + ttl)
local refreshed = 0
for i = 1, #KEYS do
  local key, conn = KEYS[i], ARGV[i + 1]
  local value = redis.call('HGET', key, conn)
  if value then
    local at, bar = expiry_of(value)
    if at ~= nil and at > now then
      redis.call('HSET', key, conn, string.sub(value, 1, bar) .. expires)
      if redis.call('PTTL', key) < ttl then redis.call('PEXPIRE', key, ttl) end
      refreshed = refreshed + 1
    else
      redis.call('HDEL', key, conn)
    end
  end
end
return refreshed
`;

/**
 * KEYS users. Returns one flat list: for each key in order, the number n of its live entries
 * followed by n pairs connId, gatewayId.
 */
const LOOKUP = `${NOW}${EXPIRY_OF}
local now = now_ms()
local out = {}
for i = 1, #KEYS do
  local fields = redis.call('HGETALL', KEYS[i])
  local count_at = #out + 1
  out[count_at] = 0
  local live = 0
  for j = 1, #fields, 2 do
    local value = fields[j + 1]
    local at, bar = expiry_of(value)
    if at ~= nil and at > now then
      out[#out + 1] = fields[j]
      out[#out + 1] = string.sub(value, 1, bar - 1)
      live = live + 1
    else
      redis.call('HDEL', KEYS[i], fields[j])
    end
  end
  out[count_at] = live
end
return out
`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    troupePresenceAdd(key: string, connId: string, gatewayId: string, ttlMs: number): Result<number, Context>;
    /** `numKeys`, the user keys, then the TTL and one connId per key. */
    troupePresenceRefresh(numKeys: number, ...keysThenArgs: Array<string | number>): Result<number, Context>;
    troupePresenceLookup(numKeys: number, ...keys: string[]): Result<Array<string | number>, Context>;
  }
}

/**
 * Defines the scripts as commands of `client` (and of its pipelines). ioredis sends each as
 * EVALSHA, with one EVAL per new connection, so a restarted server gets them back by itself.
 * Defining them again on a shared client is harmless.
 */
export function definePresenceScripts(client: Redis): void {
  client.defineCommand('troupePresenceAdd', { numberOfKeys: 1, lua: ADD });
  client.defineCommand('troupePresenceRefresh', { lua: REFRESH });
  client.defineCommand('troupePresenceLookup', { lua: LOOKUP });
}
