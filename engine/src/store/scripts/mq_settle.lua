-- mq_settle: a consumer's whole batch settled in one step (46.2): for each delivery, its effect
-- written (deduplicated by message id when asked) and its entry acknowledged, atomically, so a
-- consumer that crashes before the call leaves every entry of the batch pending (delivered again,
-- applied once), and one that crashes after it has nothing left to do. One call for a batch
-- instead of two round trips a message.
-- KEYS[1] the stream, KEYS[2] the effects (a hash: message id -> times applied). ARGV[1] the
-- consumer group, ARGV[2] "1" to deduplicate or "0", then pairs of a stream entry's id and its
-- message id. Deduplicated, the effect is HSETNX: the effect's own row is the record that it was
-- applied, tested and written in one command, as an idempotent consumer inserts under a unique
-- key; without dedup every delivery adds one.
-- Returns, for each pair, two integers: the effect (1 applied now, 0 a duplicate; without dedup
-- the id's effect count) and XACK's answer (1 acknowledged, 0 no longer pending).
-- Rust twin: engine/src/store/scripts.rs, ScriptName::MqSettle.
if #ARGV < 2 or #ARGV % 2 ~= 0 or (ARGV[2] ~= "0" and ARGV[2] ~= "1") then
  return redis.error_reply("ERR mq_settle: give the group, 0 or 1 for dedup, then pairs of entry and message ids")
end
local dedup = ARGV[2] == "1"
local out = {}
for i = 3, #ARGV, 2 do
  local entry, id = ARGV[i], ARGV[i + 1]
  if dedup then
    out[#out + 1] = redis.call("HSETNX", KEYS[2], id, "1")
  else
    out[#out + 1] = redis.call("HINCRBY", KEYS[2], id, 1)
  end
  out[#out + 1] = redis.call("XACK", KEYS[1], ARGV[1], entry)
end
return out
