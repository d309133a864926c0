-- rw_acquire: take the read-write lock KEYS[1] (a hash) for owner ARGV[1] in mode ARGV[3]
-- ("read" or "write") with a lease of ARGV[2] milliseconds, as Redisson's RReadWriteLock does;
-- a reentrant lock (Redisson's RLock) is this lock taken in write mode only (46.7.1).
-- The hash holds "mode" and one hold count per owner. Readers share the lock; a writer excludes
-- everyone else; an owner that already holds the write lock may take it again, in either mode
-- (reentrancy: it must then release as many times). A reader cannot upgrade to writer: two
-- readers both waiting to upgrade would wait for each other forever.
-- Returns the owner's hold count (1 on a first acquisition), or 0 when the lock is not available.
-- Rust twin: engine/src/store/scripts.rs, ScriptName::RwAcquire.
if ARGV[3] ~= "read" and ARGV[3] ~= "write" then
  return redis.error_reply("ERR mode must be read or write")
end
local mode = redis.call("HGET", KEYS[1], "mode")
if mode == false then
  redis.call("HSET", KEYS[1], "mode", ARGV[3])
elseif mode == "read" and ARGV[3] == "read" then
  -- readers share the lock
elseif mode ~= "write" or redis.call("HGET", KEYS[1], ARGV[1]) == false then
  return 0
end
local n = redis.call("HINCRBY", KEYS[1], ARGV[1], 1)
redis.call("PEXPIRE", KEYS[1], ARGV[2])
return n
