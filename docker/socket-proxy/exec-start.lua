-- Stage 1 of the socket proxy (haproxy.cfg) tunnels an exec start as raw TCP, so HAProxy cannot
-- see where the request ends. Rewriting its Connection header to "Upgrade, close" makes the
-- engine (Go's net/http) close the connection after any answer but the 101 upgrade, so nothing
-- pipelined behind the request is ever read as a second, unchecked request. After a 101 the
-- bytes are the exec's stdin.
--
-- Its body is read whole first and checked like every other body (policy.lua): only what
-- dockerode sends. A request this cannot read one way is left unmarked, and haproxy.cfg sends
-- it to stage 2, which refuses it.
local policy = require('policy')

local MAX_BODY_BYTES = 1024

--- The head's lines without the request line, or nil when a header is malformed.
local function header_lines(head)
  local lines = {}
  for line in head:gmatch('([^\r\n]*)\r\n') do lines[#lines + 1] = line end
  local headers = {}
  for i = 2, #lines do
    local name, value = lines[i]:match('^([!#$%%&\'*+.^_`|~%w-]+):[ \t]*(.-)[ \t]*$')
    if name == nil then return nil end
    headers[#headers + 1] = { name = name:lower(), value = value, line = lines[i] }
  end
  return lines[1], headers
end

--- The body's length, or nil when the head is not one this reads one way.
local function body_length(headers)
  local length
  for _, header in ipairs(headers) do
    if header.name == 'transfer-encoding' or header.name == 'content-encoding' then return nil end
    if header.name == 'content-length' then
      if length ~= nil or not header.value:match('^%d+$') then return nil end
      length = tonumber(header.value)
    end
  end
  return length or 0
end

local function rewrite(txn)
  -- Exactly what is buffered: a longer or open-ended read would wait for more data.
  local data = txn.req:data(0, txn.req:input())
  local head_end = data:find('\r\n\r\n', 1, true)
  if head_end == nil then return end
  local head = data:sub(1, head_end + 1)
  local request_line, headers = header_lines(head)
  if request_line == nil then return end
  local length = body_length(headers)
  if length == nil or length > MAX_BODY_BYTES then return end
  if length > 0 then
    local content_type
    for _, header in ipairs(headers) do
      if header.name == 'content-type' then content_type = (content_type and '' or header.value) end
    end
    if content_type ~= 'application/json' then return end
    -- Waits for the rest of the body if it is not all here yet.
    local body = txn.req:data(head_end + 3, length)
    if body == nil or #body ~= length then return end
    if policy.check_json(body, policy.exec_start, 'the exec start') then return end
  end
  local lines = { request_line }
  for _, header in ipairs(headers) do
    if header.name ~= 'connection' then lines[#lines + 1] = header.line end
  end
  lines[#lines + 1] = 'Connection: Upgrade, close'
  txn.req:set(table.concat(lines, '\r\n') .. '\r\n', 0, #head)
  txn:set_var('txn.exec_start_closing', true)
end

core.register_action('exec_start_close', { 'tcp-req' }, function(txn)
  local ok, problem = pcall(rewrite, txn)
  if not ok then core.Warning('socket proxy: the exec start check failed: ' .. tostring(problem)) end
end)
