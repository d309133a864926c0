-- rw_renew: set the read-write lock KEYS[1] (see rw_acquire.lua) to expire in ARGV[2]
-- milliseconds only while owner ARGV[1] holds it: the watchdog's renewal (46.7.1).
-- Returns 1 if the expiry was set, 0 otherwise.
-- Rust twin: engine/src/store/scripts.rs, ScriptName::RwRenew.
if redis.call("HGET", KEYS[1], ARGV[1]) == false then
  return 0
end
return redis.call("PEXPIRE", KEYS[1], ARGV[2])
