-- The cluster's shared state, changed by this one script so that every change is atomic: which
-- presence members and how many subscriptions each node holds, what that adds up to for the
-- cluster, the member lists' versions, the nodes' heartbeats and the delayed webhooks. Read
-- presence.rs first; it calls this with
--   ARGV[1] the key prefix (the nodes' pub/sub channel, which is also where this publishes)
--   ARGV[2] the calling node, ARGV[3] the operation,
--   ARGV[4] the apps that have webhooks, ARGV[5] those that want subscription_count events
--           (newline-separated ids), ARGV[6] the webhook delay in ms, then the operation's own.
-- Keys ({ac} is app "\n" channel):
--   K:nodes            zset   node -> last heartbeat (ms, Redis's clock)
--   K:n:{node}:p       hash   app "\n" channel "\n" user -> 1: the members a node holds
--   K:n:{node}:s       hash   app "\n" channel -> that node's count of the channel
--   K:m:{ac}           hash   user -> how many nodes hold them
--   K:i:{ac}           hash   user -> user_info JSON ("" for none), from their first node
--   K:v:{ac}           string the member list's version, one up per member added or removed
--   K:s:{app}          hash   channel -> the nodes' counts added up
--   K:wz               zset   delayed webhook ("r"/"v" "\n" app "\n" channel ["\n" user]) -> due ms
local K, NODE, OP = ARGV[1], ARGV[2], ARGV[3]
local DELAY = tonumber(ARGV[6])

local function set_of(text)
  local set = {}
  for id in string.gmatch(text, '[^\n]+') do set[id] = true end
  return set
end
local HOOKS, COUNTS = set_of(ARGV[4]), set_of(ARGV[5])

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- 'a\nb\nrest' -> {a, b, rest}; the last part (a user id) may itself hold newlines.
local function split(text, parts)
  local out, start = {}, 1
  for _ = 1, parts - 1 do
    local at = string.find(text, '\n', start, true)
    if not at then break end
    table.insert(out, string.sub(text, start, at - 1))
    start = at + 1
  end
  table.insert(out, string.sub(text, start))
  return out
end

-- Webhooks to send now ('a'/'r'/'o'/'v' "\n" app "\n" channel ["\n" user]) and delayed ones
-- ({member, due}), which the caller claims when due; anyone sweeps what stays overdue.
local now_hooks, later_hooks = {}, {}

-- A start (member added, channel occupied) cancels its pending delayed end: then neither is
-- sent, as Pusher does for a quick return. Otherwise it goes now.
local function hook_start(kind, undo, app, rest)
  if not HOOKS[app] then return end
  if redis.call('ZREM', K .. ':wz', undo .. '\n' .. app .. '\n' .. rest) == 1 then return end
  table.insert(now_hooks, kind .. '\n' .. app .. '\n' .. rest)
end

-- An end (member removed, channel vacated) waits for the delay, unless it is zero.
local function hook_end(kind, app, rest)
  if not HOOKS[app] then return end
  local member = kind .. '\n' .. app .. '\n' .. rest
  if DELAY > 0 then
    local due = now_ms() + DELAY
    redis.call('ZADD', K .. ':wz', due, member)
    table.insert(later_hooks, {member, due})
  else
    table.insert(now_hooks, member)
  end
end

local function channel_keys(app, ch)
  local ac = app .. '\n' .. ch
  return K .. ':m:' .. ac, K .. ':i:' .. ac, K .. ':v:' .. ac
end

-- Tells every node (this one too) that a member came or went, numbered.
local function announce(app, ch, user, info, added, version)
  local message = {node = 0, app = app, kind = 'member', channel = ch, user = user,
                   added = added, version = version}
  if info and info ~= '' then message.info = info end
  redis.call('PUBLISH', K, cjson.encode(message))
end

-- `node` holds `user`: 'held' (it did), 'joined' (others did), 'first' (nobody did: announced),
-- or 'full' (the channel has `max` members; nil: no limit).
local function hold(node, app, ch, user, info, max)
  local nkey = K .. ':n:' .. node .. ':p'
  local field = app .. '\n' .. ch .. '\n' .. user
  if redis.call('HEXISTS', nkey, field) == 1 then return 'held' end
  local mkey, ikey, vkey = channel_keys(app, ch)
  local holders = tonumber(redis.call('HGET', mkey, user) or '0')
  if holders == 0 and max and redis.call('HLEN', mkey) >= max then return 'full' end
  redis.call('HSET', nkey, field, '1')
  redis.call('HINCRBY', mkey, user, 1)
  if holders > 0 then return 'joined' end
  redis.call('HSET', ikey, user, info)
  local version = redis.call('INCR', vkey)
  redis.call('PERSIST', vkey)
  announce(app, ch, user, info, true, version)
  hook_start('a', 'r', app, ch .. '\n' .. user)
  return 'first'
end

-- `node` no longer holds `user`: 'none' (it did not), 'held' (others still do), 'last'
-- (announced).
local function release(node, app, ch, user)
  if redis.call('HDEL', K .. ':n:' .. node .. ':p', app .. '\n' .. ch .. '\n' .. user) == 0 then
    return 'none'
  end
  local mkey, ikey, vkey = channel_keys(app, ch)
  if redis.call('HINCRBY', mkey, user, -1) > 0 then return 'held' end
  redis.call('HDEL', mkey, user)
  redis.call('HDEL', ikey, user)
  local version = redis.call('INCR', vkey)
  if redis.call('EXISTS', mkey) == 0 then redis.call('PEXPIRE', vkey, 86400000) end
  announce(app, ch, user, nil, false, version)
  hook_end('r', app, ch .. '\n' .. user)
  return 'last'
end

-- `node`'s count of a channel becomes n; the total decides occupancy and, for apps that want
-- them, is announced as the channel's subscription count.
local function set_count(node, app, ch, n)
  local skey = K .. ':n:' .. node .. ':s'
  local field = app .. '\n' .. ch
  local old = tonumber(redis.call('HGET', skey, field) or '0')
  if n == old then return end
  if n == 0 then redis.call('HDEL', skey, field) else redis.call('HSET', skey, field, n) end
  local tkey = K .. ':s:' .. app
  local before = tonumber(redis.call('HGET', tkey, ch) or '0')
  local total = before + n - old
  if total > 0 then
    redis.call('HSET', tkey, ch, total)
  else
    redis.call('HDEL', tkey, ch)
    total = 0
  end
  if before <= 0 and total > 0 then
    hook_start('o', 'v', app, ch)
  elseif before > 0 and total == 0 then
    hook_end('v', app, ch)
  end
  if total > 0 and COUNTS[app] and string.sub(ch, 1, 9) ~= 'presence-' then
    redis.call('PUBLISH', K, cjson.encode({node = 0, app = app, kind = 'count', channel = ch,
                                           count = total}))
  end
end

-- Everything `node` held goes, with the events and webhooks that makes.
local function remove_node(node)
  local pkey, skey = K .. ':n:' .. node .. ':p', K .. ':n:' .. node .. ':s'
  for _, field in ipairs(redis.call('HKEYS', pkey)) do
    local p = split(field, 3)
    release(node, p[1], p[2], p[3])
  end
  for _, field in ipairs(redis.call('HKEYS', skey)) do
    local p = split(field, 2)
    set_count(node, p[1], p[2], 0)
  end
  redis.call('DEL', pkey, skey)
  redis.call('ZREM', K .. ':nodes', node)
end

if OP == 'join' then
  -- app, channel, user, user_info JSON (or ""), the most members
  local app, ch = ARGV[7], ARGV[8]
  local status = hold(NODE, app, ch, ARGV[9], ARGV[10], tonumber(ARGV[11]))
  if status == 'full' then return {'full'} end
  local _, ikey, vkey = channel_keys(app, ch)
  return {status, tonumber(redis.call('GET', vkey) or '0'), redis.call('HGETALL', ikey),
          now_hooks, later_hooks}
elseif OP == 'leave' then
  -- app, channel, user
  return {release(NODE, ARGV[7], ARGV[8], ARGV[9]), now_hooks, later_hooks}
elseif OP == 'count' then
  -- app, channel, count
  set_count(NODE, ARGV[7], ARGV[8], tonumber(ARGV[9]))
  return {'ok', now_hooks, later_hooks}
elseif OP == 'claim' then
  -- a delayed webhook and the due time it was given: sent by whoever removes it first
  local due = redis.call('ZSCORE', K .. ':wz', ARGV[7])
  if due and tonumber(due) == tonumber(ARGV[8]) then
    redis.call('ZREM', K .. ':wz', ARGV[7])
    return 1
  end
  return 0
elseif OP == 'sweep' then
  -- the grace (ms) a due webhook's node gets to claim it itself
  local due = redis.call('ZRANGEBYSCORE', K .. ':wz', '-inf', now_ms() - tonumber(ARGV[7]),
                         'LIMIT', 0, 100)
  for _, member in ipairs(due) do redis.call('ZREM', K .. ':wz', member) end
  return due
elseif OP == 'beat' then
  -- 1 if the node was known; 0 if its state was lost (Redis restarted or flushed, or the node
  -- was silent long enough to be reaped): it must register all it holds again.
  local known = redis.call('ZSCORE', K .. ':nodes', NODE)
  redis.call('ZADD', K .. ':nodes', now_ms(), NODE)
  if known then return 1 end
  return 0
elseif OP == 'reap' then
  -- silence (ms) after which a node is dead; its members and subscriptions go
  local dead = redis.call('ZRANGEBYSCORE', K .. ':nodes', '-inf', now_ms() - tonumber(ARGV[7]),
                          'LIMIT', 0, 8)
  local reaped = {}
  for _, node in ipairs(dead) do
    if node ~= NODE then
      remove_node(node)
      table.insert(reaped, node)
    end
  end
  return {reaped, now_hooks, later_hooks}
elseif OP == 'goodbye' then
  remove_node(NODE)
  return {'ok', now_hooks, later_hooks}
elseif OP == 'sync' then
  -- how many members follow (app, channel, user, user_info each), then the counts (app,
  -- channel, count each): all the node holds, which replaces what Redis says it holds
  local members = tonumber(ARGV[7])
  local wanted, i = {}, 8
  for _ = 1, members do
    wanted[ARGV[i] .. '\n' .. ARGV[i + 1] .. '\n' .. ARGV[i + 2]] = ARGV[i + 3]
    i = i + 4
  end
  local counts = {}
  while i + 2 <= #ARGV do
    counts[ARGV[i] .. '\n' .. ARGV[i + 1]] = tonumber(ARGV[i + 2])
    i = i + 3
  end
  redis.call('ZADD', K .. ':nodes', now_ms(), NODE)
  for _, field in ipairs(redis.call('HKEYS', K .. ':n:' .. NODE .. ':p')) do
    if not wanted[field] then
      local p = split(field, 3)
      release(NODE, p[1], p[2], p[3])
    end
  end
  for field, info in pairs(wanted) do
    local p = split(field, 3)
    hold(NODE, p[1], p[2], p[3], info, nil)
  end
  for _, field in ipairs(redis.call('HKEYS', K .. ':n:' .. NODE .. ':s')) do
    if not counts[field] then
      local p = split(field, 2)
      set_count(NODE, p[1], p[2], 0)
    end
  end
  for field, n in pairs(counts) do
    local p = split(field, 2)
    set_count(NODE, p[1], p[2], n)
  end
  return {'ok', now_hooks, later_hooks}
end
return redis.error_reply('unknown cluster operation ' .. tostring(OP))
