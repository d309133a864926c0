-- mq_publish: an idempotent publish (46.2). A producer killed and run again publishes every
-- message id again; only the first publish of an id reaches the queue, so nothing is published
-- twice and nothing is skipped.
-- KEYS[1] the ids published (a hash: id -> 1), KEYS[2] the stream, KEYS[3] the delayed messages
-- (a sorted set). ARGV[1] the message id, ARGV[2] its body, ARGV[3] its delay in ms.
-- A new id becomes a stream entry "id" = ARGV[1], "body" = ARGV[2] (an id of Redis's choosing),
-- or, with a delay, the sorted set's member "<id>|<body>" scored by the server's clock in ms plus
-- the delay, which mq_promote moves into the stream once due. The server's clock, not the
-- caller's: producers and consumers in other processes (or a process started again) agree on it.
-- Returns 1 when published now, 0 when the id was published before.
-- Rust twin: engine/src/store/scripts.rs, ScriptName::MqPublish.
local delay = ARGV[3]
if #delay > 15 or not (delay == "0" or string.match(delay, "^[1-9]%d*$")) then
  return redis.error_reply("ERR mq_publish: the delay must be a non-negative integer")
end
if redis.call("HGET", KEYS[1], ARGV[1]) ~= false then
  return 0
end
if delay ~= "0" then
  local t = redis.call("TIME")
  local due = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(delay)
  redis.call("ZADD", KEYS[3], due, ARGV[1] .. "|" .. ARGV[2])
else
  redis.call("XADD", KEYS[2], "*", "id", ARGV[1], "body", ARGV[2])
end
redis.call("HSET", KEYS[1], ARGV[1], "1")
return 1
