-- mq_dead_letter: a message delivered too often leaves its queue for the dead-letter stream
-- (46.2), with its last error and its delivery count, in one atomic step: it is never both
-- pending and dead, nor neither, whichever consumer crashes when.
-- KEYS[1] the stream, KEYS[2] the dead-letter stream. ARGV[1] the consumer group, ARGV[2] the
-- entry's id, ARGV[3] the last error.
-- If the entry is pending in the group, adds to the dead-letter stream (id of Redis's choosing)
-- an entry "source" = its id, "error" = ARGV[3], "deliveries" = its delivery count, followed by
-- the entry's own fields (none if it has been deleted), then acknowledges it. The entry stays
-- in its stream, trimmed later like any acknowledged one, so an audit can still find it.
-- Returns the dead-letter entry's id, or 0 when the entry was not pending (acknowledged, or
-- dead-lettered already by another consumer: nothing is written twice).
-- Rust twin: engine/src/store/scripts.rs, ScriptName::MqDeadLetter.
local pending = redis.call("XPENDING", KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1)
if #pending == 0 then
  return 0
end
local id = pending[1][1]
local fields = {"source", id, "error", ARGV[3], "deliveries", pending[1][4]}
local entry = redis.call("XRANGE", KEYS[1], id, id)
if #entry == 1 then
  for _, v in ipairs(entry[1][2]) do
    table.insert(fields, v)
  end
end
local dead = redis.call("XADD", KEYS[2], "*", unpack(fields))
redis.call("XACK", KEYS[1], ARGV[1], id)
return dead
