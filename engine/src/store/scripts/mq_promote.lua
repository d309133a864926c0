-- mq_promote: delayed delivery on Redis Streams (46.2). A delayed message waits in a sorted set
-- scored by the time it becomes due; this moves the due ones into the stream that consumers read.
-- KEYS[1] the delayed messages (a sorted set: member = the message, score = due time in ms on the
-- server's clock, as mq_publish scores it), KEYS[2] the stream. ARGV[1] the most messages to move
-- in one call (a bound on the script's work: it blocks the server while it runs).
-- Every member with score <= now (the server's TIME, in ms), in score order, becomes a stream
-- entry with one field, "msg" = the member, added with an id of Redis's choosing (*), and leaves
-- the set, in one atomic step: a message is never in both places, nor in neither. The XADD comes
-- before the ZREM, so an error (a key of the wrong type) stops the script with the unmoved
-- messages still delayed.
-- Returns how many messages moved.
-- Rust twin: engine/src/store/scripts.rs, ScriptName::MqPromote.
local limit = ARGV[1]
if #limit > 15 or not (limit == "0" or string.match(limit, "^[1-9]%d*$")) then
  return redis.error_reply("ERR mq_promote: the limit must be a non-negative integer")
end
local t = redis.call("TIME")
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local due = redis.call("ZRANGEBYSCORE", KEYS[1], "-inf", now, "LIMIT", 0, limit)
for _, member in ipairs(due) do
  redis.call("XADD", KEYS[2], "*", "msg", member)
  redis.call("ZREM", KEYS[1], member)
end
return #due
