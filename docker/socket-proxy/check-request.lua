-- Stage 2 of the socket proxy (haproxy.cfg): checks each request's body and query against the
-- shapes in policy.lua. A request that passes gets txn.checked; a refused one gets txn.refusal
-- (why), which haproxy.cfg answers with 403. The method-and-path allow-list there still applies
-- to everything that passes.
local policy = require('policy')

-- Far above any body the API sends, well inside tune.bufsize (the whole body must be in the
-- buffer to be read).
local MAX_BODY_BYTES = 32768

--- The values of one request header (HAProxy lists them from index 0).
local function header_values(headers, name)
  local values, list = headers[name], {}
  if values == nil then return list end
  local i = 0
  while values[i] ~= nil do
    list[#list + 1] = values[i]
    i = i + 1
  end
  return list
end

local function check(txn)
  local method = txn.f:method()
  local path = txn:get_var('txn.path')
  local headers = txn.http:req_get_headers()
  if #header_values(headers, 'transfer-encoding') > 0 then return 'a chunked body' end
  if #header_values(headers, 'content-encoding') > 0 then return 'an encoded body' end
  -- HAProxy has already refused a malformed or ambiguous Content-Length.
  local declared = tonumber(header_values(headers, 'content-length')[1] or '0')

  local shape, what, optional = policy.body_route(method, path)
  if shape == nil or (optional and declared == 0) then
    if declared ~= 0 then return 'a body on a call that takes none' end
  else
    local content_types = header_values(headers, 'content-type')
    if #content_types ~= 1 or content_types[1] ~= 'application/json' then
      return what .. ' without Content-Type: application/json'
    end
    if declared > MAX_BODY_BYTES then return what .. ': a body too large to inspect' end
    local body = txn.sf:req_body() or ''
    if #body ~= declared then return what .. ': a body it could not see whole' end
    local problem = policy.check_json(body, shape, what)
    if problem then return problem end
  end

  local problem, query = policy.check_query(method, path, txn.f:query())
  if problem then return problem end
  if query then txn.http:req_set_query(query) end
end

-- Fails closed: haproxy.cfg refuses any request this did not mark as checked, so an error here
-- (which HAProxy would log and step over) refuses the request too.
core.register_action('check_request', { 'http-req' }, function(txn)
  local ok, refusal = pcall(check, txn)
  if not ok then
    core.Warning('socket proxy: the request check failed: ' .. tostring(refusal))
    refusal = 'a request it could not check'
  end
  if refusal then
    txn:set_var('txn.refusal', policy.printable(refusal))
  else
    txn:set_var('txn.checked', true)
  end
end)
