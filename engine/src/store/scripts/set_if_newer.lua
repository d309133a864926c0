-- set_if_newer: set KEYS[1] to ARGV[1] .. ":" .. ARGV[2] with a lifetime of ARGV[3] milliseconds,
-- unless it already holds a value whose leading rank (the digits before the first ":") is at
-- least ARGV[1]. A versioned cache fill (46.3): a reader that loaded an old row cannot overwrite
-- the newer row, or the tombstone, a writer left after it. Returns 1 if set, 0 otherwise.
-- Rust twin: engine/src/store/scripts.rs, ScriptName::SetIfNewer.
local rank = tonumber(ARGV[1])
if rank == nil or string.match(ARGV[1], "^%d+$") == nil then
  return redis.error_reply("ERR rank is not a non-negative integer")
end
local current = redis.call("GET", KEYS[1])
if current then
  local held = string.match(current, "^%d+")
  if held and tonumber(held) >= rank then
    return 0
  end
end
redis.call("SET", KEYS[1], ARGV[1] .. ":" .. ARGV[2], "PX", ARGV[3])
return 1
