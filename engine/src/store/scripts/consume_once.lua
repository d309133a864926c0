-- consume_once: the consumer's end of the outbox (46.7.3). The relay delivers at least once, so
-- an event may arrive twice; its effect is applied only the first time its id is seen, in the
-- same atomic write that remembers the id.
-- KEYS[1] the ids seen (a hash: id -> 1), KEYS[2] the effects (a hash: field -> count).
-- ARGV[1] the event's id, ARGV[2] the effect's field.
-- Returns 1 when applied now, 0 for a duplicate.
-- Rust twin: engine/src/store/scripts.rs, ScriptName::ConsumeOnce.
if redis.call("HGET", KEYS[1], ARGV[1]) ~= false then
  return 0
end
redis.call("HSET", KEYS[1], ARGV[1], "1")
redis.call("HINCRBY", KEYS[2], ARGV[2], 1)
return 1
