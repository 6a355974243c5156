-- Stage 1 of the socket proxy (haproxy.cfg) tunnels an exec start as raw TCP, so HAProxy cannot
-- see where the request ends. Rewriting its Connection header to "Upgrade, close" makes the
-- engine (Go's net/http) close the connection after any answer but the 101 upgrade, so nothing
-- pipelined behind the request is ever read as a second, unchecked request. After a 101 the
-- bytes are the exec's stdin.
core.register_action('exec_start_close', { 'tcp-req' }, function(txn)
  -- Exactly what is buffered: a longer or open-ended read would wait for more data.
  local data = txn.req:data(0, txn.req:input())
  local head_end = data:find('\r\n\r\n', 1, true)
  if head_end == nil then
    return
  end
  local head = data:sub(1, head_end + 1)
  local lines = {}
  for line in head:gmatch('([^\r\n]*)\r\n') do
    if not line:lower():match('^connection[ \t]*:') then
      lines[#lines + 1] = line
    end
  end
  lines[#lines + 1] = 'Connection: Upgrade, close'
  txn.req:set(table.concat(lines, '\r\n') .. '\r\n', 0, #head)
  txn:set_var('txn.exec_start_closing', true)
end)
