-- saga_step: one step or compensation of a saga, applied on the store together with the saga's
-- log and its outgoing event (46.7.3): the business change, the log entry saying where the saga
-- now stands and the outbox entry are written at once or not at all, so an orchestrator that
-- crashes anywhere finds the saga exactly where its last step left it.
-- KEYS[1] the service's account (a hash: available, moved, and "order:<tx>" per order),
-- KEYS[2] the saga log (a hash: tx -> state), KEYS[3] the outbox (a sorted set by sequence),
-- KEYS[4] the outbox's sequence counter.
-- ARGV[1] tx, ARGV[2] the amount (an integer), ARGV[3] "do" or "undo", ARGV[4] the log state
-- after success, ARGV[5] after a refusal, ARGV[6] the state the log must hold now ("" for none:
-- a request finding the saga elsewhere changes nothing), ARGV[7] the service's name.
-- A step is done once per order (a repeat answers as the first did; a step after its
-- compensation is refused); a compensation of a step never done is recorded, and refuses it.
-- Returns 1 (done, or compensated), 0 (refused), -1 (the log had moved on: nothing written).
-- Numbers are plain decimal integers of at most 15 digits (exact as Lua's doubles, and written
-- back without an exponent); anything else is an error before any write (Lua's tonumber would
-- take "2.5" or "0x10", and a script that fails halfway keeps its writes).
-- Rust twin: engine/src/store/scripts.rs, ScriptName::SagaStep.
local function integer(s)
  local digits = type(s) == "string" and string.match(s, "^%-?(%d+)$")
  return digits ~= nil and digits ~= false and string.len(digits) <= 15
end
if not integer(ARGV[2]) or string.sub(ARGV[2], 1, 1) == "-" then
  return redis.error_reply("ERR saga_step: the amount must be a non-negative integer")
end
local tx = ARGV[1]
if (redis.call("HGET", KEYS[2], tx) or "") ~= ARGV[6] then
  return -1
end
local field = "order:" .. tx
local seen = redis.call("HGET", KEYS[1], field)
local ok = 1
if ARGV[3] == "do" then
  if seen == false then
    local amount = tonumber(ARGV[2])
    local available = redis.call("HGET", KEYS[1], "available") or "0"
    if not integer(available) then
      return redis.error_reply("ERR saga_step: available is not an integer")
    end
    if tonumber(available) >= amount then
      redis.call("HINCRBY", KEYS[1], "available", -amount)
      redis.call("HINCRBY", KEYS[1], "moved", amount)
      redis.call("HSET", KEYS[1], field, "done:" .. ARGV[2])
    else
      redis.call("HSET", KEYS[1], field, "refused")
      ok = 0
    end
  elseif string.sub(seen, 1, 5) ~= "done:" then
    ok = 0
  end
else
  if seen ~= false and string.sub(seen, 1, 5) == "done:" then
    local done = string.sub(seen, 6)
    if not integer(done) then
      return redis.error_reply("ERR saga_step: the step's amount is not an integer")
    end
    local amount = tonumber(done)
    redis.call("HINCRBY", KEYS[1], "available", amount)
    redis.call("HINCRBY", KEYS[1], "moved", -amount)
  end
  redis.call("HSET", KEYS[1], field, "compensated")
end
if ok == 1 then
  redis.call("HSET", KEYS[2], tx, ARGV[4])
else
  redis.call("HSET", KEYS[2], tx, ARGV[5])
end
local seq = redis.call("INCR", KEYS[4])
redis.call("ZADD", KEYS[3], seq, seq .. ":" .. tx .. ":" .. ARGV[7] .. ":" .. ARGV[3] .. ":" .. ok)
return ok
