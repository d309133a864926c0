-- rate_limit: one check of a distributed rate limiter (the chapter's fifth learning goal, 限流),
-- the same algorithms and the same integer arithmetic as the engine's local limiters
-- (engine/src/resilience/limit/), so that one EVALSHA decides as the local limiter would.
-- KEYS[1] the limiter's state: a string, the algorithm's name and four numbers (a sorted set for
-- sliding_log), read with one GET and written with one SET PX: each redis.call, each pattern
-- match and each string.format costs Redis's single thread about a microsecond, so a check
-- makes as few of them as it can (46.x: a limiter in front of a service must cost less than it).
-- ARGV[1] the algorithm: fixed_window, sliding_log, sliding_window, token_bucket, leaky_bucket
-- or gcra; ARGV[2] limit and ARGV[3] period (µs): limit requests per period; ARGV[4] burst (the
-- bucket's capacity, GCRA's burst, the leaky bucket's queue); ARGV[5] now in µs, or "" for the
-- server's clock (TIME), which every client then shares whatever its own clock says.
-- Every quantity is an integer below 2^53, which Lua's numbers hold exactly: times in µs,
-- and levels scaled by limit or period, which limit × period and burst × period <= 2^52 bound.
-- Returns {1, remaining} admitted, {2, wait µs} admitted to leave later (leaky_bucket), or
-- {0, retry after µs} refused, each followed by the time (µs) the check was decided at: what an
-- audit reads back to count the admissions of every window. The key lives one second past the
-- moment its state no longer matters (a full bucket, a window gone), so a client's clock a
-- little off never drops it early.
-- Rust twin: engine/src/store/scripts/rate_limit.rs (ScriptName::RateLimit).
-- An integer argument: digits only, at most 2^53, at least min; nil otherwise.
local function int(s, min)
  if #s == 0 or #s > 16 or string.find(s, "%D") or (#s == 16 and s > "9007199254740992") then return nil end
  local n = tonumber(s)
  if n < min then return nil end
  return n
end
local function bad(name, min)
  return redis.error_reply("ERR rate_limit: " .. name .. " must be an integer >= " .. min)
end
local algorithm = ARGV[1]
local limit = int(ARGV[2], 1)
if not limit then return bad("limit", 1) end
local period = int(ARGV[3], 1)
if not period then return bad("period", 1) end
local burst = int(ARGV[4], 1)
if not burst then return bad("burst", 1) end
if limit > math.floor(4503599627370496 / period) or burst > math.floor(4503599627370496 / period) then
  return redis.error_reply("ERR rate_limit: limit × period and burst × period must be at most 2^52")
end
local now
if ARGV[5] == "" then
  local t = redis.call("TIME")
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
else
  now = int(ARGV[5], 0)
  if not now then return bad("now", 0) end
end
local key = KEYS[1]
-- The key lives one second past the moment its state no longer matters: `us` µs from now.
local function ttl(us)
  return math.floor((us + 999) / 1000) + 1000
end

if algorithm == "sliding_log" then
  local newest = redis.call("ZRANGE", key, -1, -1, "WITHSCORES")
  if newest[2] and tonumber(newest[2]) > now then now = tonumber(newest[2]) end
  redis.call("ZREMRANGEBYSCORE", key, "-inf", now - period)
  local held = redis.call("ZCARD", key)
  if held < limit then
    redis.call("ZADD", key, now, string.format("%d-%d", now, held))
    redis.call("PEXPIRE", key, ttl(period))
    return {1, limit - held - 1, now}
  end
  local oldest = redis.call("ZRANGE", key, 0, 0, "WITHSCORES")
  return {0, tonumber(oldest[2]) + period - now, now}
end

-- The state: the algorithm's name and four numbers, each algorithm's own (unused ones 0).
local s = redis.call("GET", key)
local kind, f1, f2, f3, f4 = nil, 0, 0, 0, 0
if s then
  kind, f1, f2, f3, f4 = string.match(s, "^([%l_]+) (%d+) (%d+) (%d+) (%d+)$")
  if not kind then
    return redis.error_reply("ERR rate_limit: " .. key .. " holds something other than a limiter's state")
  end
  if kind ~= algorithm then
    return redis.error_reply("ERR rate_limit: " .. key .. " holds a " .. kind .. " limiter, not " .. algorithm)
  end
  f1, f2, f3, f4 = tonumber(f1), tonumber(f2), tonumber(f3), tonumber(f4)
end
local reply, keep

if algorithm == "fixed_window" then
  local w, c = f1, f2
  local window = math.floor(now / period)
  if window < w then window = w end
  if window ~= w then w, c = window, 0 end
  local since = now
  if since < w * period then since = w * period end
  if c < limit then
    c = c + 1
    reply = {1, limit - c, now}
  else
    reply = {0, (w + 1) * period - since, now}
  end
  f1, f2, keep = w, c, (w + 1) * period - since
elseif algorithm == "sliding_window" then
  local w, cur, prev, latest = f1, f2, f3, f4
  if now < latest then now = latest end
  local window = math.floor(now / period)
  if window ~= w then
    if window == w + 1 then prev = cur else prev = 0 end
    cur, w = 0, window
  end
  local elapsed = now - window * period
  local weighted = prev * (period - elapsed) + cur * period
  if weighted < limit * period and cur < limit then
    local left = math.floor((limit * period - weighted + period - 1) / period) - 1
    if left > limit - cur - 1 then left = limit - cur - 1 end
    cur = cur + 1
    reply = {1, left, now}
  elseif cur < limit and prev > 0 then
    reply = {0, period - math.floor(((limit - cur) * period + prev - 1) / prev) + 1 - elapsed, now}
  else
    local after = 0
    if cur * period >= limit * period then
      after = period + 1 - math.floor((limit * period + cur - 1) / cur)
      if after < 0 then after = 0 end
    end
    reply = {0, period - elapsed + after, now}
  end
  f1, f2, f3, f4, keep = w, cur, prev, now, (w + 2) * period - now
elseif algorithm == "token_bucket" then
  local full = burst * period
  local level, last = full, now
  if kind then level, last = f1, f2 end
  if now < last then now = last end
  local elapsed = now - last
  local cap = math.floor((full + limit - 1) / limit)
  if elapsed > cap then elapsed = cap end
  level = level + elapsed * limit
  if level > full then level = full end
  if level >= period then
    level = level - period
    reply = {1, math.floor(level / period), now}
  else
    reply = {0, math.floor((period - level + limit - 1) / limit), now}
  end
  f1, f2, keep = level, now, math.floor((full - level + limit - 1) / limit)
elseif algorithm == "gcra" or algorithm == "leaky_bucket" then
  -- The time kept (GCRA's TAT, the leaky bucket's next departure) is q µs and r / limit, so
  -- that it is exact in units of 1 / limit µs: q × limit + r.
  local q, r, latest = f1, f2, f3
  if now < latest then now = latest end
  if q < now then q, r = now, 0 end
  local ahead = (q - now) * limit + r
  if algorithm == "gcra" then
    local tolerance = (burst - 1) * period
    if ahead > tolerance then
      reply = {0, math.floor((ahead - tolerance + limit - 1) / limit), now}
    else
      reply = {1, math.floor((tolerance - ahead) / period), now}
      r = r + period
    end
  else
    local queue = burst * period
    if ahead >= queue then
      reply = {0, math.floor((ahead - queue) / limit) + 1, now}
    else
      if ahead == 0 then
        reply = {1, math.floor((queue - period) / period), now}
      else
        reply = {2, math.floor((ahead + limit - 1) / limit), now}
      end
      r = r + period
    end
  end
  q, r = q + math.floor(r / limit), r % limit
  f1, f2, f3, keep = q, r, now, q - now + 1
else
  return redis.error_reply("ERR rate_limit: unknown algorithm " .. tostring(algorithm)
    .. " (fixed_window, sliding_log, sliding_window, token_bucket, leaky_bucket, gcra)")
end
-- Integers as digits: Lua's own tostring would print 16-digit times in exponent form.
redis.call("SET", key, string.format("%s %d %d %d %d", algorithm, f1, f2, f3, f4), "PX", ttl(keep))
return reply
