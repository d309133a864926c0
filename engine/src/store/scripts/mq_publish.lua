-- mq_publish: idempotent publishes (46.2), a batch at a time. A producer killed and run again
-- publishes every message id again; only the first publish of an id reaches the queue, so
-- nothing is published twice and nothing is skipped. One call publishes many messages: a round
-- trip a message would cap the queue at the round-trip rate.
-- KEYS[1] the ids published (a hash: id -> 1), KEYS[2] the stream, KEYS[3] the delayed messages
-- (a sorted set). ARGV: triples of a message id, its body and its delay in ms.
-- A new id becomes a stream entry "id" = its id, "body" = its body (an id of Redis's choosing),
-- or, with a delay, the sorted set's member "<id>|<body>" scored by the server's clock in ms plus
-- the delay, which mq_promote moves into the stream once due. The server's clock, not the
-- caller's: producers and consumers in other processes (or a process started again) agree on it.
-- The id is marked published (HSETNX: tested and marked in one command) before its entry is
-- written, and unmarked if that write fails. Every delay is checked before anything is written:
-- a refused batch writes nothing; a failing write ends the batch with its error, the triples
-- before it published.
-- Returns, for each triple, 1 when published now and 0 when the id was published before (earlier
-- in the same batch too).
-- Rust twin: engine/src/store/scripts.rs, ScriptName::MqPublish.
if #ARGV == 0 or #ARGV % 3 ~= 0 then
  return redis.error_reply("ERR mq_publish: give triples of a message id, its body and its delay in ms")
end
for i = 3, #ARGV, 3 do
  local delay = ARGV[i]
  if #delay > 15 or not (delay == "0" or string.match(delay, "^[1-9]%d*$")) then
    return redis.error_reply("ERR mq_publish: the delay must be a non-negative integer")
  end
end
local now
local out = {}
for i = 1, #ARGV, 3 do
  local id, body, delay = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  if redis.call("HSETNX", KEYS[1], id, "1") == 0 then
    out[#out + 1] = 0
  else
    local written
    if delay ~= "0" then
      if now == nil then
        local t = redis.call("TIME")
        now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
      end
      written = redis.pcall("ZADD", KEYS[3], now + tonumber(delay), id .. "|" .. body)
    else
      written = redis.pcall("XADD", KEYS[2], "*", "id", id, "body", body)
    end
    if type(written) == "table" and written.err then
      -- Not published after all: the id must not read as published, or its retry would skip it.
      redis.call("HDEL", KEYS[1], id)
      return written
    end
    out[#out + 1] = 1
  end
end
return out
