/**
 * The atomic latest/previous update (CONTRACTS.md §3), one call per result.
 *
 * KEYS[1] latest hash, KEYS[2] previous hash, KEYS[3] history sorted set of this product ('' = none)
 * ARGV[1] product id (hash field), ARGV[2] window_start, ARGV[3] result JSON,
 * ARGV[4] history cap N, ARGV[5] channel to PUBLISH the JSON on when latest/previous changed ('' = none),
 * ARGV[6] seconds the history key lives after its last write (0 = forever)
 *
 * Rule, with L and P the window starts stored in latest and previous:
 *   ws == L            -> latest replaced in place
 *   ws == P            -> previous replaced in place
 *   no L, or ws > L    -> previous := latest, latest := new
 *   no P, or ws > P    -> previous := new            (between previous and latest)
 *   otherwise          -> ignored                     (older than both; kept in history)
 * Writing the same JSON again changes nothing (the history TTL is only renewed), so replays are harmless.
 * Returns 1 when latest or previous changed, else 0.
 *
 * Under `maxmemory` (Redis 7.0, script without a shebang): the reads run, the first command that may grow memory
 * (HSET, ZADD) is refused with `OOM` if nothing was written yet, which aborts the script before any write; once a
 * command wrote, the rest runs. So a script is applied whole or not at all (the sink test checks it).
 */
export const LATEST_PREVIOUS_LUA = `
local field = ARGV[1]
local ws = tonumber(ARGV[2])
local json = ARGV[3]
local changed = 0

local function start_of(v)
  if not v then return nil end
  local ok, decoded = pcall(cjson.decode, v)
  if not ok or type(decoded) ~= 'table' then return nil end
  return tonumber(decoded['window_start'])
end

local latest = redis.call('HGET', KEYS[1], field)
local previous = redis.call('HGET', KEYS[2], field)
local L = start_of(latest)
local P = start_of(previous)

if L ~= nil and ws == L then
  if latest ~= json then redis.call('HSET', KEYS[1], field, json); changed = 1 end
elseif P ~= nil and ws == P then
  if previous ~= json then redis.call('HSET', KEYS[2], field, json); changed = 1 end
elseif L == nil or ws > L then
  if latest then redis.call('HSET', KEYS[2], field, latest) end
  redis.call('HSET', KEYS[1], field, json)
  changed = 1
elseif P == nil or ws > P then
  redis.call('HSET', KEYS[2], field, json)
  changed = 1
end

if KEYS[3] ~= '' then
  local same = redis.call('ZRANGEBYSCORE', KEYS[3], ws, ws)
  if #same ~= 1 or same[1] ~= json then
    redis.call('ZREMRANGEBYSCORE', KEYS[3], ws, ws)
    redis.call('ZADD', KEYS[3], ws, json)
    local cap = tonumber(ARGV[4])
    if cap and cap > 0 then redis.call('ZREMRANGEBYRANK', KEYS[3], 0, -(cap + 1)) end
  end
  local ttl = tonumber(ARGV[6])
  if ttl and ttl > 0 then redis.call('EXPIRE', KEYS[3], ttl) end
end

if changed == 1 and ARGV[5] ~= '' then redis.call('PUBLISH', ARGV[5], json) end
return changed
`
