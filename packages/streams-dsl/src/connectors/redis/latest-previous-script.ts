/** Reads {@link packTokens}' format in a script that has set `packed`: each `token()` returns the next token. */
const TOKEN_READER = `local pos = 1
-- the next token of the packed argument: <byte length>:<bytes>
local function token()
  local colon = string.find(packed, ':', pos, true)
  local len = tonumber(string.sub(packed, pos, colon - 1))
  local t = string.sub(packed, colon + 1, colon + len)
  pos = colon + len + 1
  return t
end
`

/**
 * The atomic latest/previous update (docs/contract.md §3.3) for the results of several keys in one call (a sink
 * write is cut into calls of a few hundred results, whole keys each, so Redis is never held long).
 *
 * KEYS[1] latest hash, KEYS[2] previous hash
 * ARGV[1] channel to PUBLISH each result that changed latest/previous on ('' = none)
 * ARGV[2] the results, packed ({@link packTokens}): per key its hash field, the number n of its results, and n pairs
 * (window start, result JSON), in the order they were produced.
 * ARGV[3] the name of the top-level JSON property holding a result's window start (an identifier: no pattern
 * characters to escape), by which a stored result's window start is read back.
 *
 * Rule, per result, with L and P the window starts stored in latest and previous (as the results before it in
 * the call left them):
 *   ws == L            -> latest replaced in place
 *   ws == P            -> previous replaced in place
 *   no L, or ws > L    -> previous := latest, latest := new
 *   no P, or ws > P    -> previous := new            (between previous and latest)
 *   otherwise          -> ignored                     (older than both; kept in history)
 * The latest and previous of all the call's keys are read with one HMGET each and written with one HSET each,
 * whatever the number of results of a key (a job catching up fires several windows of a key at a time), and the
 * results come as one packed argument: a redis.call or an argument costs about as much as the work of a result
 * (one HGET/HSET per key and hash and three arguments per result made a call of 500 results about twice as slow on
 * the server and the client). Writing the same JSON again changes nothing, so replays are harmless. Returns the
 * number of results that changed latest or previous.
 *
 * Under `maxmemory` (Redis 7.0, script without a shebang): the reads run, the first command that may grow memory
 * (the first HSET) is refused with `OOM` as nothing was written yet, which aborts the script before any write; once
 * it wrote, the rest runs. The PUBLISHes come last, so a refused call publishes nothing. So a call is applied whole
 * or not at all (the sink test checks it).
 */
export const LATEST_PREVIOUS_LUA = `
local channel = ARGV[1]
local packed = ARGV[2]
local start_field = ARGV[3]
local start_pattern = '"' .. start_field .. '":(%-?%d+)[,}]'
${TOKEN_READER}
-- window start of a stored result: read from the JSON text (what this sink wrote), else decoded
local function start_of(v)
  if not v then return nil end
  local s = string.match(v, start_pattern)
  if s then return tonumber(s) end
  local ok, decoded = pcall(cjson.decode, v)
  if not ok or type(decoded) ~= 'table' then return nil end
  return tonumber(decoded[start_field])
end

-- the call's keys and results
local fields, results = {}, {}
while pos <= #packed do
  local field = token()
  local n = tonumber(token())
  local list = {}
  for j = 1, n do
    local ws = tonumber(token())
    list[j] = { ws, token() }
  end
  fields[#fields + 1] = field
  results[#results + 1] = list
end
if #fields == 0 then return 0 end
local latests = redis.call('HMGET', KEYS[1], unpack(fields))
local previouses = redis.call('HMGET', KEYS[2], unpack(fields))

local changed = {}
local setLatest, setPrevious = {}, {}
for i = 1, #fields do
  local latest, previous = latests[i], previouses[i]
  local latest0, previous0 = latest, previous
  local L, P = start_of(latest), start_of(previous)
  for _, r in ipairs(results[i]) do
    local ws, json = r[1], r[2]
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
  if latest and latest ~= latest0 then setLatest[#setLatest + 1] = fields[i]; setLatest[#setLatest + 1] = latest end
  if previous and previous ~= previous0 then setPrevious[#setPrevious + 1] = fields[i]; setPrevious[#setPrevious + 1] = previous end
end
if #setLatest > 0 then redis.call('HSET', KEYS[1], unpack(setLatest)) end
if #setPrevious > 0 then redis.call('HSET', KEYS[2], unpack(setPrevious)) end

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
 * KEYS[1..k] the history sorted set of each key, in the order of ARGV[3]
 * ARGV[1] cap N (0 = all), ARGV[2] seconds a history key lives after its last write (0 = forever), ARGV[3] packed
 * ({@link packTokens}): per key the number n of its results and n pairs (window_start, result JSON).
 */
export const HISTORY_LUA = `
local cap = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
local packed = ARGV[3]
${TOKEN_READER}
local k = 1
while pos <= #packed do
  local key = KEYS[k]
  k = k + 1
  local n = tonumber(token())
  -- the key's windows, each with its last result (a window fired twice in one call, as a late event updates it)
  local order, last = {}, {}
  for j = 1, n do
    local ws = token()
    local json = token()
    if not last[ws] then order[#order + 1] = ws end
    last[ws] = json
  end
  -- a window already there is replaced (one member per score), an unchanged one left alone; the rest is added with
  -- one ZADD. Reads come first: under maxmemory the ZADD of new windows is the first write, refused with OOM
  local add, stale = {}, {}
  for _, ws in ipairs(order) do
    local same = redis.call('ZRANGEBYSCORE', key, ws, ws)
    if #same ~= 1 or same[1] ~= last[ws] then
      if #same > 0 then stale[#stale + 1] = ws end
      add[#add + 1] = ws
      add[#add + 1] = last[ws]
    end
  end
  for _, ws in ipairs(stale) do redis.call('ZREMRANGEBYSCORE', key, ws, ws) end
  if #add > 0 then
    redis.call('ZADD', key, unpack(add))
    if #stale * 2 < #add and cap and cap > 0 then redis.call('ZREMRANGEBYRANK', key, 0, -(cap + 1)) end
  end
  if ttl and ttl > 0 then redis.call('EXPIRE', key, ttl) end
end
return 0
`

/**
 * Packs tokens into one script argument: each as `<UTF-8 byte length>:<text>`, so any text (a key or JSON with
 * colons, newlines or any character) goes through unchanged; the scripts read it back with string.find/sub.
 */
export function packTokens(tokens: readonly (string | number)[]): string {
  let out = ''
  for (const t of tokens) {
    const text = typeof t === 'string' ? t : String(t)
    out += `${Buffer.byteLength(text)}:${text}`
  }
  return out
}
