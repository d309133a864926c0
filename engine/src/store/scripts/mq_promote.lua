-- mq_promote: delayed delivery on Redis Streams (46.2). A delayed message waits in a sorted set
-- scored by the time it becomes due; this moves the due ones into the stream that consumers read.
-- KEYS[1] the delayed messages (a sorted set: member = the message, score = due time in ms),
-- KEYS[2] the stream. ARGV[1] now (ms), ARGV[2] the most messages to move in one call (a bound on
-- the script's work: it blocks the server while it runs).
-- Every member with score <= ARGV[1], in score order, becomes a stream entry with one field,
-- "msg" = the member, added with an id of Redis's choosing (*), and leaves the set, in one atomic
-- step: a message is never in both places, nor in neither. The XADD comes before the ZREM, so an
-- error (a key of the wrong type) stops the script with the unmoved messages still delayed.
-- The caller passes its clock, so the sorted set and the simulated twin agree on what is due.
-- Returns how many messages moved.
-- Rust twin: engine/src/store/scripts.rs, ScriptName::MqPromote.
for i, what in ipairs({"now", "the limit"}) do
  local arg = ARGV[i]
  if #arg > 15 or not (arg == "0" or string.match(arg, "^[1-9]%d*$")) then
    return redis.error_reply("ERR mq_promote: " .. what .. " must be a non-negative integer")
  end
end
local due = redis.call("ZRANGEBYSCORE", KEYS[1], "-inf", ARGV[1], "LIMIT", 0, ARGV[2])
for _, member in ipairs(due) do
  redis.call("XADD", KEYS[2], "*", "msg", member)
  redis.call("ZREM", KEYS[1], member)
end
return #due
