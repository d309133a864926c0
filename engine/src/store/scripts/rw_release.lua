-- rw_release: give back one hold of owner ARGV[1] on the read-write lock KEYS[1] (see
-- rw_acquire.lua). While the owner still holds it (a reentrant hold released once of several),
-- the lease is set again to ARGV[2] milliseconds; the last holder out deletes the lock (46.7.1).
-- Returns the owner's remaining hold count (0 when it let go entirely), or -1 when the owner held
-- nothing: its lease expired, or the lock changed hands, and nothing was touched.
-- Rust twin: engine/src/store/scripts.rs, ScriptName::RwRelease.
if redis.call("HGET", KEYS[1], ARGV[1]) == false then
  return -1
end
local n = redis.call("HINCRBY", KEYS[1], ARGV[1], -1)
if n > 0 then
  redis.call("PEXPIRE", KEYS[1], ARGV[2])
  return n
end
redis.call("HDEL", KEYS[1], ARGV[1])
if #redis.call("HGETALL", KEYS[1]) <= 2 then
  redis.call("DEL", KEYS[1])
end
return 0
