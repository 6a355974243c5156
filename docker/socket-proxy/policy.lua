-- What the socket proxy lets through, beyond the method-and-path allow-list in haproxy.cfg: the
-- request bodies and the query parameters the engine acts on, read as the engine reads them
-- (json.lua), each checked against the one shape claudecode-api sends
-- (src/docker/docker.service.ts). A field that is not listed is refused, so a new engine option
-- is refused until someone allows it here.
--
-- The values the shapes pin come from the environment (docker-compose.yml sets them from the
-- API's own settings); a missing or unsafe one stops the proxy at boot.

local json = require('json')

local M = {}

-- -----------------------------------------------------------------------------------------------
-- Settings

local NAME = '^[a-zA-Z0-9][a-zA-Z0-9_.-]*$'

local function setting(name, pattern, forbidden)
  local value = os.getenv(name)
  if value == nil or value == '' then error('socket proxy: ' .. name .. ' is not set', 0) end
  if not value:match(pattern) then error('socket proxy: ' .. name .. ' is malformed', 0) end
  if forbidden and forbidden[value] then
    error('socket proxy: ' .. name .. ' must not be ' .. value, 0)
  end
  return value
end

local config = {
  container_prefix = setting('CONTAINER_PREFIX', NAME),
  volume_prefix = setting('VOLUME_PREFIX', NAME),
  agent_image = setting('AGENT_IMAGE', '^[a-z0-9][a-z0-9._/:@-]*$'),
  -- `host` is allowed because a deployment may choose it (the compose smoke test does); `none`
  -- and `container:<id>` are not names of this pattern or are refused.
  agent_network = setting('AGENT_NETWORK', NAME, { none = true }),
  -- A user name, never a uid or user:group, and never root.
  agent_user = setting('AGENT_USER', '^[a-z_][a-z0-9_-]*$', { root = true }),
}
M.config = config

-- -----------------------------------------------------------------------------------------------
-- Shapes: each is a function(value, where) that returns nil when the value fits, or why not.

local function starts_with(text, prefix)
  return text:sub(1, #prefix) == prefix
end

local function kind_is(expected)
  return function(value, where)
    if json.kind(value) ~= expected then return where .. ' must be a ' .. expected end
  end
end

local is_string, is_boolean = kind_is('string'), kind_is('boolean')

local function string_where(test, what)
  return function(value, where)
    return is_string(value, where) or (not test(value) and where .. ' must be ' .. what) or nil
  end
end

local function equals(expected)
  return function(value, where)
    if json.kind(value) ~= json.kind(expected) or value ~= expected then
      return where .. ' has a value the proxy does not allow'
    end
  end
end

local function integer(min, max)
  return function(value, where)
    if json.kind(value) ~= 'integer' or value < min or value > max then
      return where .. ' must be an integer from ' .. min .. ' to ' .. max
    end
  end
end

local function array(item, min_items)
  return function(value, where)
    if json.kind(value) ~= 'array' then return where .. ' must be an array' end
    if #value < (min_items or 0) then return where .. ' must not be empty' end
    for i, element in ipairs(value) do
      local problem = item(element, where .. '[' .. (i - 1) .. ']')
      if problem then return problem end
    end
  end
end

--- Exactly these strings, in this order.
local function exact_list(expected)
  return function(value, where)
    if json.kind(value) ~= 'array' or #value ~= #expected then
      return where .. ' must be exactly the allowed list'
    end
    for i, element in ipairs(expected) do
      if value[i] ~= element then return where .. ' must be exactly the allowed list' end
    end
  end
end

--- An object with only the listed fields; `required` lists those that must be there.
local function object(fields, required)
  return function(value, where)
    if json.kind(value) ~= 'object' then return where .. ' must be an object' end
    for key, field_value in pairs(value) do
      local shape = fields[key]
      if shape == nil then return where .. '.' .. key .. ' is not allowed' end
      local problem = shape(field_value, where .. '.' .. key)
      if problem then return problem end
    end
    for _, key in ipairs(required or {}) do
      if value[key] == nil then return where .. '.' .. key .. ' is required' end
    end
  end
end

--- An object used as a map: every key passes `key_test`, every value `value_shape`.
local function map(key_test, key_what, value_shape)
  return function(value, where)
    if json.kind(value) ~= 'object' then return where .. ' must be an object' end
    for key, entry in pairs(value) do
      if not key_test(key) then return where .. ' has a key that is not ' .. key_what end
      local problem = value_shape(entry, where .. '[' .. key .. ']')
      if problem then return problem end
    end
  end
end

-- -----------------------------------------------------------------------------------------------
-- Values

local function is_name(text) return text:match(NAME) ~= nil end

local function named_with(prefix)
  return function(text) return #text > #prefix and starts_with(text, prefix) and is_name(text) end
end

M.is_container_name = named_with(config.container_prefix)
local is_volume_name = named_with(config.volume_prefix)

--- An absolute path with no empty, `.` or `..` segment, so it means what it says.
local function is_clean_path(text)
  if text == '/' then return true end
  if not text:match('^/[%w_.@+/%-]*$') or text:sub(-1) == '/' then return false end
  for segment in text:gmatch('/([^/]*)') do
    if segment == '' or segment == '.' or segment == '..' then return false end
  end
  return true
end

local function is_under(roots)
  return function(text)
    if not is_clean_path(text) then return false end
    for _, root in ipairs(roots) do
      if text == root or starts_with(text, root .. '/') then return true end
    end
    return false
  end
end

local AGENT_HOME = '/home/' .. config.agent_user

-- tmpfs mount options: sizes, modes and the restricting flags; never suid, dev or anything else.
local TMPFS_OPTIONS = {
  '^rw$', '^ro$', '^nosuid$', '^nodev$', '^noexec$', '^exec$',
  '^size=%d+[kmg]?$', '^nr_inodes=%d+[kmg]?$', '^mode=[0-7][0-7][0-7][0-7]?$', '^uid=%d+$', '^gid=%d+$',
}

local function is_tmpfs_options(text)
  if text == '' then return true end
  for option in (text .. ','):gmatch('([^,]*),') do
    local known = false
    for _, pattern in ipairs(TMPFS_OPTIONS) do
      if option:match(pattern) then known = true end
    end
    if not known then return false end
  end
  return true
end

local function is_label_key(text)
  return text:match('^com%.claudecode%-api%.[a-z0-9][a-z0-9._-]*$') ~= nil
end

-- Any NAME=value: an exec's environment stays inside its container.
local function is_env_entry(text)
  return text:match('^[^=]+=') ~= nil
end

local INT32 = 2147483647
local HUGE = 1 << 50

local labels = map(is_label_key, 'under com.claudecode-api.', is_string)

-- -----------------------------------------------------------------------------------------------
-- The shapes of the bodies the API sends (see the README's "socket proxy" section; both the
-- container shape before and after the agent limits are accepted: every limit is optional).

local container_create = object({
  -- dockerode leaves `name` in the body as well as the query; the engine ignores it there.
  name = string_where(M.is_container_name, 'named with the container prefix'),
  Image = equals(config.agent_image),
  User = equals(config.agent_user),
  WorkingDir = string_where(is_clean_path, 'a clean absolute path'),
  Labels = labels,
  HostConfig = object({
    NetworkMode = equals(config.agent_network),
    RestartPolicy = object({ Name = equals('unless-stopped') }, { 'Name' }),
    Init = equals(true),
    CapDrop = exact_list({ 'ALL' }),
    SecurityOpt = exact_list({ 'no-new-privileges' }),
    ReadonlyRootfs = equals(true),
    Tmpfs = map(is_under({ '/tmp', AGENT_HOME, '/run' }), 'under /tmp, ' .. AGENT_HOME .. ' or /run',
      string_where(is_tmpfs_options, 'tmpfs options the proxy allows')),
    Memory = integer(1, HUGE),
    MemorySwap = integer(1, HUGE),
    NanoCpus = integer(1, HUGE),
    PidsLimit = integer(1, INT32),
    CpuShares = integer(2, 262144),
    Ulimits = array(object({
      Name = equals('nofile'),
      Soft = integer(1, INT32),
      Hard = integer(1, INT32),
    }, { 'Name', 'Soft', 'Hard' })),
    Mounts = array(object({
      Type = equals('volume'),
      Source = string_where(is_volume_name, 'a volume named with the volume prefix'),
      Target = string_where(is_under({ AGENT_HOME, '/workspace' }),
        'a clean path under ' .. AGENT_HOME .. ' or /workspace'),
    }, { 'Type', 'Source', 'Target' })),
  }, { 'NetworkMode', 'CapDrop', 'SecurityOpt' }),
}, { 'Image', 'User', 'HostConfig' })

local exec_create = object({
  Cmd = array(is_string, 1),
  Env = array(string_where(is_env_entry, 'NAME=value')),
  User = equals(config.agent_user),
  WorkingDir = string_where(is_clean_path, 'a clean absolute path'),
  AttachStdin = is_boolean,
  AttachStdout = is_boolean,
  AttachStderr = is_boolean,
  Tty = equals(false),
}, { 'Cmd', 'User' })

-- dockerode sends its own options as the body of an exec start; the engine reads none of them.
local exec_start = object({ hijack = equals(true), stdin = is_boolean })

-- dockerode sends the stop options as a body as well as the query; the engine reads the query.
local container_stop = object({ t = integer(0, 3600) })

local volume_create = object({
  Name = string_where(is_volume_name, 'named with the volume prefix'),
  Labels = labels,
  Driver = equals('local'),
}, { 'Name' })

local network_create = object({
  Name = equals(config.agent_network),
  Driver = equals('bridge'),
  Labels = labels,
}, { 'Name', 'Driver' })

-- -----------------------------------------------------------------------------------------------
-- Requests

--- Reads `text` as JSON and checks it against `shape`; nil when it fits, or why not.
function M.check_json(text, shape, what)
  local ok, value = pcall(json.decode, text)
  if not ok then return what .. ': ' .. value end
  return shape(value, what)
end

M.exec_start = exec_start

-- The calls that carry a body, by method and path (the version prefix already stripped). Every
-- other call must come without one.
local BODY_ROUTES = {
  { 'POST', '^/containers/create$', container_create, 'the container' },
  { 'POST', '^/containers/[%w][%w_.-]*/exec$', exec_create, 'the exec' },
  { 'POST', '^/containers/[%w][%w_.-]*/stop$', container_stop, 'the stop', optional = true },
  { 'POST', '^/volumes/create$', volume_create, 'the volume' },
  { 'POST', '^/networks/create$', network_create, 'the network' },
}

--- The shape of the call's body, what to call it, and whether it may be left out; nil for a
--- call that takes no body.
function M.body_route(method, path)
  for _, route in ipairs(BODY_ROUTES) do
    if method == route[1] and path:match(route[2]) then
      return route[3], route[4], route.optional == true
    end
  end
end

local function url_decode(text)
  if text:find('%%%X') or text:find('%%.%X') or text:find('%%.?$') then return nil end
  return (text:gsub('%+', ' '):gsub('%%(%x%x)', function(hex) return string.char(tonumber(hex, 16)) end))
end

--- The query's parameters as Go's url.ParseQuery sees them: name -> list of values. Nil when it
--- cannot be read the one way (a `;`, which older Go splits on, or a bad %-escape).
function M.parse_query(query)
  local params = {}
  if query == nil or query == '' then return params end
  if query:find(';', 1, true) then return nil end
  for pair in (query .. '&'):gmatch('([^&]*)&') do
    if pair ~= '' then
      local raw_key, raw_value = pair:match('^([^=]*)=?(.*)$')
      local key, value = url_decode(raw_key), url_decode(raw_value)
      if key == nil or value == nil then return nil end
      params[key] = params[key] or {}
      table.insert(params[key], value)
    end
  end
  return params
end

local function only_one(params, key)
  local values = params[key]
  if values ~= nil and #values == 1 then return values[1] end
end

local EVENT_FILTER_NAMES = {}
for _, action in ipairs({ 'create', 'start', 'restart', 'stop', 'die', 'kill', 'oom', 'pause',
  'unpause', 'destroy', 'rename', 'update', 'health_status' }) do
  EVENT_FILTER_NAMES[action] = true
end

local event_filters = object({
  type = exact_list({ 'container' }),
  label = exact_list({ 'com.claudecode-api.managed=true' }),
  event = array(string_where(function(text) return EVENT_FILTER_NAMES[text] == true end,
    'a container state event')),
}, { 'type', 'label' })

local network_filters = object({ name = exact_list({ config.agent_network }) }, { 'name' })

--- Checks the query of the calls whose parameters widen or aim them. Returns why it is refused,
--- or nil and, for the network list, the query to send instead.
function M.check_query(method, path, query)
  local params = M.parse_query(query)
  if params == nil then return 'a query string it cannot read one way' end
  if method == 'POST' and path == '/containers/create' then
    if params.platform then return 'a platform' end
    local name = only_one(params, 'name')
    if name == nil or not M.is_container_name(name) then
      return 'a container not named with the container prefix'
    end
  elseif method == 'GET' and path == '/events' then
    local filters = only_one(params, 'filters')
    if filters == nil then return 'events without the service\'s filter' end
    return M.check_json(filters, event_filters, 'the event filters')
  elseif method == 'GET' and path == '/networks' then
    local filters = only_one(params, 'filters')
    if filters == nil then return 'a network list without the agent network\'s filter' end
    local problem = M.check_json(filters, network_filters, 'the network filters')
    if problem then return problem end
    -- The engine matches a name filter as a regular expression, so it would also list every
    -- network whose name contains this one; anchored and escaped, it lists only this one.
    local exact = '^' .. config.agent_network:gsub('%.', '\\\\.') .. '$'
    return nil, 'filters=' .. ('{"name":["' .. exact .. '"]}'):gsub('[^%w._-]', function(char)
      return string.format('%%%02X', char:byte())
    end)
  end
end

--- Makes a reason safe to put in the JSON of the refusal (keys are printable ASCII already).
function M.printable(reason)
  return (reason:gsub('[^%w%p ]', '?'):gsub('["\\]', '?'))
end

return M
