/**
 * The atomic latest/previous update (CONTRACTS.md §3) for the results of several keys in one call (a sink write is
 * cut into calls of a few hundred results, whole keys each, so Redis is never held long).
 *
 * KEYS[1] latest hash, KEYS[2] previous hash
 * ARGV[1] channel to PUBLISH each result that changed latest/previous on ('' = none); then per key: its hash
 * field, the number n of its results, and n pairs (window_start, result JSON), in the order they were produced.
 *
 * Rule, per result, with L and P the window starts stored in latest and previous (as the results before it in
 * the call left them):
 *   ws == L            -> latest replaced in place
 *   ws == P            -> previous replaced in place
 *   no L, or ws > L    -> previous := latest, latest := new
 *   no P, or ws > P    -> previous := new            (between previous and latest)
 *   otherwise          -> ignored                     (older than both; kept in history)
 * A key's latest and previous are read and written once per call whatever its number of results (a job catching
 * up fires several windows of a key at a time). Writing the same JSON again changes nothing, so replays are
 * harmless. Returns the number of results that changed latest or previous.
 *
 * Under `maxmemory` (Redis 7.0, script without a shebang): the reads run, the first command that may grow memory
 * (HSET) is refused with `OOM` if nothing was written yet, which aborts the script before any write; once a command
 * wrote, the rest runs. The PUBLISHes come last, so a refused call publishes nothing. So a call is applied whole
 * or not at all (the sink test checks it).
 */
export const LATEST_PREVIOUS_LUA = `
local channel = ARGV[1]
local changed = {}

-- window_start of a stored result: read from the JSON text (what this sink wrote), else decoded
local function start_of(v)
  if not v then return nil end
  local s = string.match(v, '"window_start":(%-?%d+)[,}]')
  if s then return tonumber(s) end
  local ok, decoded = pcall(cjson.decode, v)
  if not ok or type(decoded) ~= 'table' then return nil end
  return tonumber(decoded['window_start'])
end

local a = 2
while a <= #ARGV do
  local field = ARGV[a]
  local n = tonumber(ARGV[a + 1])
  a = a + 2
  local latest = redis.call('HGET', KEYS[1], field)
  local previous = redis.call('HGET', KEYS[2], field)
  local latest0, previous0 = latest, previous
  local L, P = start_of(latest), start_of(previous)
  for j = 1, n do
    local ws = tonumber(ARGV[a])
    local json = ARGV[a + 1]
    a = a + 2
    local c = false
    if L ~= nil and ws == L then
      if latest ~= json then latest = json; c = true end
    elseif P ~= nil and ws == P then
      if previous ~= json then previous = json; c = true end
    elseif L == nil or ws > L then
      if latest then previous = latest; P = L end
      latest = json; L = ws; c = true
    elseif P == nil or ws > P then
      previous = json; P = ws; c = true
    end
    if c then changed[#changed + 1] = json end
  end
  if latest and latest ~= latest0 then redis.call('HSET', KEYS[1], field, latest) end
  if previous and previous ~= previous0 then redis.call('HSET', KEYS[2], field, previous) end
end

if channel ~= '' then
  for _, json in ipairs(changed) do redis.call('PUBLISH', channel, json) end
end
return #changed
`

/**
 * The capped history of several keys in one call: sorted set `<prefix><key>`, score window_start, member the
 * result JSON; a window already there is replaced; the newest N are kept. Sent after the latest/previous calls of
 * a write, so the results the API reads land first.
 *
 * KEYS[1..k] the history sorted set of each key in ARGV order
 * ARGV[1] cap N (0 = all), ARGV[2] seconds a history key lives after its last write (0 = forever); then per key:
 * the number n of its results and n pairs (window_start, result JSON).
 */
export const HISTORY_LUA = `
local cap = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
local a = 3
local k = 1
while a <= #ARGV do
  local key = KEYS[k]
  k = k + 1
  local n = tonumber(ARGV[a])
  a = a + 1
  local added = false
  for j = 1, n do
    local ws = tonumber(ARGV[a])
    local json = ARGV[a + 1]
    a = a + 2
    local same = redis.call('ZRANGEBYSCORE', key, ws, ws)
    if #same ~= 1 or same[1] ~= json then
      if #same > 0 then redis.call('ZREMRANGEBYSCORE', key, ws, ws) end
      redis.call('ZADD', key, ws, json)
      added = true
    end
  end
  if added and cap and cap > 0 then redis.call('ZREMRANGEBYRANK', key, 0, -(cap + 1)) end
  if ttl and ttl > 0 then redis.call('EXPIRE', key, ttl) end
end
return 0
`
