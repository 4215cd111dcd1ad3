-- The sandbox every script runs in, built once per Lua state before any
-- user code. Loaded with the chunk name "=replsim" (frames of this chunk
-- are skipped when an error is located in the user's code).
--
-- Arguments: the state's real globals table, the table of Rust
-- implementations, the debug library (kept here, removed from the
-- globals), and whether this state hosts functions (FUNCTION LOAD) rather
-- than EVAL scripts.
--
-- Redis 7.0 makes every table reachable from the globals read-only with a
-- patched Lua. Stock Lua 5.1 has no such tables, so scripts see read-only
-- proxies instead: empty tables whose metatable reads from the real table
-- and refuses writes with Redis's error.
local G, impl, dbg, functions_mode = ...

local error, type, select, rawget, rawset, setmetatable, getmetatable, tostring, xpcall, pairs, setfenv =
  error, type, select, rawget, rawset, setmetatable, getmetatable, tostring, xpcall, pairs, setfenv
local getinfo = dbg.getinfo
local format = string.format

-- proxy -> the table it protects (weak: proxies of KEYS-like temporaries go)
local targets = setmetatable({}, { __mode = 'k' })

local function readonly_error()
  error("Attempt to modify a readonly table", 2)
end

-- Each proxy's metatable, as getmetatable shows it: itself read-only.
local function protect_metatable(mt)
  local shown = {}
  setmetatable(shown, { __index = mt, __newindex = readonly_error, __metatable = false })
  targets[shown] = mt
  mt.__metatable = shown
  return mt
end

local function readonly(t)
  local proxy = {}
  setmetatable(proxy, protect_metatable({ __index = t, __newindex = readonly_error }))
  targets[proxy] = t
  return proxy
end

-- Errors raised by the Rust side of the API arrive wrapped: this turns
-- them back into what Redis raises (an error table, or a message).
local unwrap = impl.unwrap_error

-- Redis's luaPushErrorBuff: "-CODE msg" or "msg" become {err="CODE msg"}.
local function error_table(text)
  local code, msg = 'ERR', text
  if text:sub(1, 1) == '-' then
    local space = text:find(' ', 1, true)
    if space then
      code, msg = text:sub(2, space - 1), text:sub(space + 1)
    else
      msg = text:sub(2)
    end
  end
  msg = msg:gsub('^[\r\n]+', ''):gsub('[\r\n]+$', '')
  return { err = code .. ' ' .. msg }
end

local redis = {}
redis.call = impl.call
redis.pcall = impl.pcall
redis.setresp = impl.setresp
redis.set_repl = impl.set_repl
redis.log = impl.log
redis.sha1hex = impl.sha1hex
redis.acl_check_cmd = impl.acl_check_cmd
redis.error_reply = function(...)
  local e = ...
  if select('#', ...) ~= 1 or type(e) ~= 'string' then
    return error_table('wrong number or type of arguments')
  end
  if e:sub(1, 1) ~= '-' then e = '-' .. e end
  return error_table(e)
end
redis.status_reply = function(...)
  local s = ...
  if select('#', ...) ~= 1 or type(s) ~= 'string' then
    return error_table('wrong number or type of arguments')
  end
  return { ok = s }
end
redis.breakpoint = function() return false end
redis.debug = function() end
redis.replicate_commands = function() return true end
redis.REPL_NONE = 0
redis.REPL_AOF = 1
redis.REPL_SLAVE = 2
redis.REPL_REPLICA = 2
redis.REPL_ALL = 3
redis.LOG_DEBUG = 0
redis.LOG_VERBOSE = 1
redis.LOG_NOTICE = 2
redis.LOG_WARNING = 3
redis.REDIS_VERSION = impl.version
redis.REDIS_VERSION_NUM = impl.version_num

-- Redis's pcall hands back the message of an error table, not the table.
local raw_pcall = pcall
local function pcall_result(ok, ...)
  if ok then return true, ... end
  local e = unwrap((...))
  if type(e) == 'table' then
    local msg = e.err
    if type(msg) == 'string' or type(msg) == 'number' then
      return false, msg
    end
  end
  return false, ...
end
G.pcall = function(...) return pcall_result(raw_pcall(...)) end
local raw_xpcall = xpcall
G.xpcall = function(f, handler)
  return raw_xpcall(f, function(e) return handler((unwrap(e))) end)
end

G.math.random = impl.random
G.math.randomseed = impl.randomseed

-- Locates an error in the user's code, as Redis's error handler does,
-- skipping the C function that raised it and this file's own frames.
local function error_handler(err)
  local positioned
  err, positioned = unwrap(err)
  local level = 2
  local info = getinfo(level, 'nSl')
  if info and info.what == 'C' then
    level = level + 1
    info = getinfo(level, 'nSl')
  end
  while info and info.source == '=replsim' do
    level = level + 1
    info = getinfo(level, 'nSl')
  end
  if positioned and info and info.currentline >= 0 then
    -- A message raised by a library function, which Redis's C code
    -- raises with the calling line's position.
    err = info.short_src .. ':' .. info.currentline .. ': ' .. err
  end
  if type(err) ~= 'table' then
    err = { err = 'ERR ' .. tostring(err) }
  end
  if info then
    err['source'] = info.source
    err['line'] = info.currentline
  end
  return err
end

-- What scripts may not reach.
G.print, G.dofile, G.loadfile, G.debug, G.module, G.require, G.package, G.os, G.io =
  nil, nil, nil, nil, nil, nil, nil, nil, nil
-- Redis 7.0.15 removed these from the globals too.
G.getfenv, G.setfenv, G.newproxy = nil, nil, nil

-- Library tables become read-only.
for _, name in pairs({ 'string', 'math', 'table', 'coroutine', 'bit', 'cjson', 'cmsgpack', 'struct' }) do
  if rawget(G, name) then
    rawset(G, name, readonly(rawget(G, name)))
  end
end
local string_mt = getmetatable('')
string_mt.__index = G.string
protect_metatable(string_mt)

-- Redis's Lua refuses precompiled chunks: loadstring gives nil for them.
local raw_loadstring, raw_load = G.loadstring, G.load
G.loadstring = function(s, ...)
  if type(s) == 'string' and s:byte(1) == 27 then
    return nil, 'binary chunks are not allowed'
  end
  return raw_loadstring(s, ...)
end
G.load = function(f, ...)
  if type(f) == 'string' then return G.loadstring(f, ...) end
  local first = true
  return raw_load(function()
    local piece = f()
    if first and type(piece) == 'string' and piece:byte(1) == 27 then
      return nil
    end
    first = false
    return piece
  end, ...)
end

-- The globals scripts see: missing names are errors, writes are refused.
-- In the functions state, the globals a library sees while it loads are
-- only the registration API.
local load_api = {}
if functions_mode then
  local load_redis = {
    register_function = impl.register_function,
    log = impl.log,
    LOG_DEBUG = 0, LOG_VERBOSE = 1, LOG_NOTICE = 2, LOG_WARNING = 3,
    REDIS_VERSION = impl.version,
    REDIS_VERSION_NUM = impl.version_num,
  }
  local proxy = {}
  setmetatable(proxy, {
    __index = function(_, k)
      local v = rawget(load_redis, k)
      if v == nil then
        error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
      end
      return v
    end,
    __newindex = readonly_error,
    __metatable = false,
  })
  targets[proxy] = load_redis
  load_api.redis = proxy
end
local loading = false

rawset(G, 'redis', readonly(redis))
if not functions_mode then
  rawset(G, '__redis__err__handler', error_handler)
end

local globals = {}
setmetatable(globals, protect_metatable({
  __index = function(_, k)
    local v = rawget(loading and load_api or G, k)
    if v == nil then
      error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
    end
    return v
  end,
  __newindex = readonly_error,
}))
targets[globals] = G
rawset(G, '_G', globals)

-- rawset, rawget and setmetatable must not open the proxies.
G.rawset = function(t, k, v)
  if targets[t] then error("Attempt to modify a readonly table", 0) end
  return rawset(t, k, v)
end
G.rawget = function(t, k)
  local target = targets[t]
  if target then return rawget(target, k) end
  return rawget(t, k)
end
-- Addresses differ from one run to the next, and a simulation must not:
-- tostring names a table, function, userdata or thread by the order in
-- which it was first shown (`table: 0x00000001`), not by its address.
local shown_ids = setmetatable({}, { __mode = 'k' })
local shown_count = 0
G.tostring = function(v)
  local text = tostring(v)
  local t = type(v)
  if t == 'table' or t == 'function' or t == 'userdata' or t == 'thread' then
    local kind = text:match('^(%a+): 0?x?%x+$')
    if kind then
      local id = shown_ids[v]
      if not id then
        shown_count = shown_count + 1
        id = shown_count
        shown_ids[v] = id
      end
      return format('%s: 0x%08x', kind, id)
    end
  end
  return text
end
G.setmetatable = function(t, mt)
  if targets[t] then error("Attempt to modify a readonly table", 0) end
  return setmetatable(t, mt)
end

-- Runs `f(a, b)` with the error handler, with the sandbox's globals as the
-- thread's (a script may have changed them with setfenv(0, ...)).
local function invoke(f, a, b)
  setfenv(0, globals)
  return xpcall(function() return f(a, b) end, error_handler)
end

-- Sets KEYS and ARGV for an EVAL script.
local function set_eval_arrays(keys, argv)
  rawset(G, 'KEYS', keys)
  rawset(G, 'ARGV', argv)
end

local function set_loading(on)
  setfenv(0, globals)
  loading = on
end

-- Runs a library's code as it loads: its error as Lua raised it, with
-- the Rust API's errors unwrapped.
local function load_library(chunk)
  setfenv(0, globals)
  local ok, err = raw_pcall(chunk)
  if ok then return true end
  return false, (unwrap(err))
end

setfenv(0, globals)
return invoke, set_eval_arrays, set_loading, load_library
