-- acquire_fenced: take the lock KEYS[1] for owner ARGV[1] with a lease of ARGV[2] milliseconds
-- (SET NX PX) and, only if it was free, return a fencing token: INCR of the counter KEYS[2].
-- Both in one script, so tokens increase strictly in the order locks are granted (46.7.1).
-- Returns the token, or 0 when the lock is held. Both keys must hash to the same cluster slot.
-- Rust twin: engine/src/store/scripts.rs, ScriptName::AcquireFenced.
if redis.call("SET", KEYS[1], ARGV[1], "NX", "PX", ARGV[2]) then
  return redis.call("INCR", KEYS[2])
end
return 0
