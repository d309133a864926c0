-- rate_limit: one check of a distributed rate limiter (the chapter's fifth learning goal, 限流),
-- the same algorithms and the same integer arithmetic as the engine's local limiters
-- (engine/src/resilience/limit/), so that one EVALSHA decides as the local limiter would.
-- KEYS[1] the limiter's state: a hash (a sorted set for sliding_log).
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
local function int(s, name, min)
  if #s > 16 or not string.match(s, "^%d+$") or (#s == 16 and s > "9007199254740992") or tonumber(s) < min then
    return nil, redis.error_reply("ERR rate_limit: " .. name .. " must be an integer >= " .. min)
  end
  return tonumber(s)
end
local algorithm = ARGV[1]
local limit, e1 = int(ARGV[2], "limit", 1)
if e1 then return e1 end
local period, e2 = int(ARGV[3], "period", 1)
if e2 then return e2 end
local burst, e3 = int(ARGV[4], "burst", 1)
if e3 then return e3 end
local scale = 4503599627370496 -- 2^52
if limit > math.floor(scale / period) or burst > math.floor(scale / period) then
  return redis.error_reply("ERR rate_limit: limit × period and burst × period must be at most 2^52")
end
local now
if ARGV[5] == "" then
  local t = redis.call("TIME")
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
else
  local n, e4 = int(ARGV[5], "now", 0)
  if e4 then return e4 end
  now = n
end
local key = KEYS[1]
-- Integers as digits: Lua's own tostring would print 16-digit times in exponent form.
local function d(x)
  return string.format("%d", x)
end
local function keep(us)
  redis.call("PEXPIRE", key, d(math.floor((us + 999) / 1000) + 1000))
end
local function floor_div(a, b)
  return math.floor(a / b)
end
local function ceil_div(a, b)
  return math.floor((a + b - 1) / b)
end

if algorithm == "sliding_log" then
  local newest = redis.call("ZRANGE", key, -1, -1, "WITHSCORES")
  if newest[2] and tonumber(newest[2]) > now then now = tonumber(newest[2]) end
  redis.call("ZREMRANGEBYSCORE", key, "-inf", d(now - period))
  local held = redis.call("ZCARD", key)
  if held < limit then
    redis.call("ZADD", key, d(now), d(now) .. "-" .. d(held))
    keep(period)
    return {1, limit - held - 1, now}
  end
  local oldest = redis.call("ZRANGE", key, 0, 0, "WITHSCORES")
  return {0, tonumber(oldest[2]) + period - now, now}
end

-- Every field in one read: the algorithm (a), then each algorithm's own.
local h = redis.call("HMGET", key, "a", "w", "c", "p", "l", "v", "t", "q", "r")
local kind = h[1]
if kind and kind ~= algorithm then
  return redis.error_reply("ERR rate_limit: " .. key .. " holds a " .. kind .. " limiter, not " .. algorithm)
end
local index = {w = 2, c = 3, p = 4, l = 5, v = 6, t = 7, q = 8, r = 9}
local function field(name)
  return tonumber(h[index[name]] or "0")
end

if algorithm == "fixed_window" then
  local w, c = field("w"), field("c")
  local window = floor_div(now, period)
  if window < w then window = w end
  if window ~= w then w, c = window, 0 end
  local reply
  if c < limit then
    c = c + 1
    reply = {1, limit - c}
  else
    local from = now
    if from < w * period then from = w * period end
    reply = {0, (w + 1) * period - from}
  end
  redis.call("HSET", key, "a", algorithm, "w", d(w), "c", d(c))
  local since = now
  if since < w * period then since = w * period end
  keep((w + 1) * period - since)
  reply[3] = now
  return reply
elseif algorithm == "sliding_window" then
  local w, cur, prev, latest = field("w"), field("c"), field("p"), field("l")
  if now < latest then now = latest end
  local window = floor_div(now, period)
  if window ~= w then
    if window == w + 1 then prev = cur else prev = 0 end
    cur, w = 0, window
  end
  local elapsed = now - window * period
  local weighted = prev * (period - elapsed) + cur * period
  local reply
  if weighted < limit * period and cur < limit then
    local left = ceil_div(limit * period - weighted, period) - 1
    if left > limit - cur - 1 then left = limit - cur - 1 end
    cur = cur + 1
    reply = {1, left}
  elseif cur < limit and prev > 0 then
    reply = {0, period - ceil_div((limit - cur) * period, prev) + 1 - elapsed}
  else
    local after = 0
    if cur * period >= limit * period then
      after = period + 1 - ceil_div(limit * period, cur)
      if after < 0 then after = 0 end
    end
    reply = {0, period - elapsed + after}
  end
  redis.call("HSET", key, "a", algorithm, "w", d(w), "c", d(cur), "p", d(prev), "l", d(now))
  keep((w + 2) * period - now)
  reply[3] = now
  return reply
elseif algorithm == "token_bucket" then
  local full = burst * period
  local level, last = full, now
  if kind then level, last = field("v"), field("t") end
  if now < last then now = last end
  local elapsed = now - last
  local cap = ceil_div(full, limit)
  if elapsed > cap then elapsed = cap end
  level = level + elapsed * limit
  if level > full then level = full end
  local reply
  if level >= period then
    level = level - period
    reply = {1, floor_div(level, period)}
  else
    reply = {0, ceil_div(period - level, limit)}
  end
  redis.call("HSET", key, "a", algorithm, "v", d(level), "t", d(now))
  keep(ceil_div(full - level, limit))
  reply[3] = now
  return reply
elseif algorithm == "gcra" or algorithm == "leaky_bucket" then
  -- The time kept (GCRA's TAT, the leaky bucket's next departure) is q µs and r / limit, so
  -- that it is exact in units of 1 / limit µs: q × limit + r.
  local q, r, latest = field("q"), field("r"), field("l")
  if now < latest then now = latest end
  if q < now then q, r = now, 0 end
  local ahead = (q - now) * limit + r
  local reply
  if algorithm == "gcra" then
    local tolerance = (burst - 1) * period
    if ahead > tolerance then
      reply = {0, ceil_div(ahead - tolerance, limit)}
    else
      reply = {1, floor_div(tolerance - ahead, period)}
      r = r + period
    end
  else
    local queue = burst * period
    if ahead >= queue then
      reply = {0, floor_div(ahead - queue, limit) + 1}
    else
      if ahead == 0 then
        reply = {1, floor_div(queue - period, period)}
      else
        reply = {2, ceil_div(ahead, limit)}
      end
      r = r + period
    end
  end
  q, r = q + floor_div(r, limit), r % limit
  redis.call("HSET", key, "a", algorithm, "q", d(q), "r", d(r), "l", d(now))
  keep(q - now + 1)
  reply[3] = now
  return reply
end
return redis.error_reply("ERR rate_limit: unknown algorithm " .. tostring(algorithm)
  .. " (fixed_window, sliding_log, sliding_window, token_bucket, leaky_bucket, gcra)")
