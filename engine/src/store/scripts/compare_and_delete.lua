-- compare_and_delete: delete KEYS[1] only while it still holds ARGV[1].
-- A lock is released by its owner only: a client whose lease expired must not delete the lock
-- that another client has taken since (46.7.1). Returns 1 if deleted, 0 otherwise.
-- Rust twin: engine/src/store/scripts.rs, ScriptName::CompareAndDelete.
if redis.call("GET", KEYS[1]) == ARGV[1] then
  return redis.call("DEL", KEYS[1])
end
return 0
