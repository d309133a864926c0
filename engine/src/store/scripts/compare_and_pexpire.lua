-- compare_and_pexpire: set KEYS[1] to expire in ARGV[2] milliseconds only while it still holds
-- ARGV[1]. A lock's owner extends its lease (watchdog renewal) without extending someone else's
-- (46.7.1). Returns 1 if the expiry was set, 0 otherwise.
-- Rust twin: engine/src/store/scripts.rs, ScriptName::CompareAndPExpire.
if redis.call("GET", KEYS[1]) == ARGV[1] then
  return redis.call("PEXPIRE", KEYS[1], ARGV[2])
end
return 0
