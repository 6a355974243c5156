-- A strict JSON reader for the socket proxy's checks (policy.lua). The engine decodes request
-- bodies with Go's encoding/json, which matches keys case-insensitively, keeps the last of
-- duplicate keys, unescapes \uXXXX in keys and replaces invalid UTF-8. A checker that reads a
-- body differently from the engine can be shown one thing while the engine applies another, so
-- this reader accepts only the subset of JSON on which the two cannot disagree:
--   * keys are plain printable ASCII, never escaped, and unique case-insensitively;
--   * strings are valid UTF-8 (escapes decoded, surrogates paired);
--   * numbers are integers of at most 15 digits (no fraction, no exponent);
--   * one value, whole: anything after it but whitespace is an error, and so is a cut body.
-- Anything else raises an error. Objects and arrays carry a metatable that tells them apart.

local M = {}

M.null = setmetatable({}, { __tostring = function() return 'null' end })
local OBJECT = { __name = 'object' }
local ARRAY = { __name = 'array' }

local MAX_DEPTH = 32
local MAX_INTEGER_DIGITS = 15

--- The JSON type of a value read by M.decode: object, array, string, integer, boolean or null.
function M.kind(value)
  local lua_type = type(value)
  if lua_type == 'string' then return 'string' end
  if lua_type == 'boolean' then return 'boolean' end
  if math.type(value) == 'integer' then return 'integer' end
  if value == M.null then return 'null' end
  local meta = getmetatable(value)
  if meta == OBJECT then return 'object' end
  if meta == ARRAY then return 'array' end
  return lua_type
end

-- UTF-8 as RFC 3629 has it: for each lead byte, the sequence length and the range of the second
-- byte (which rules out overlong forms, surrogates and code points past U+10FFFF).
local function utf8_rule(lead)
  if lead >= 0xC2 and lead <= 0xDF then return 2, 0x80, 0xBF end
  if lead == 0xE0 then return 3, 0xA0, 0xBF end
  if lead == 0xED then return 3, 0x80, 0x9F end
  if lead >= 0xE1 and lead <= 0xEF then return 3, 0x80, 0xBF end
  if lead == 0xF0 then return 4, 0x90, 0xBF end
  if lead >= 0xF1 and lead <= 0xF3 then return 4, 0x80, 0xBF end
  if lead == 0xF4 then return 4, 0x80, 0x8F end
  return nil
end

local function valid_utf8(text)
  local i, n = 1, #text
  while i <= n do
    local lead = text:byte(i)
    if lead < 0x80 then
      i = i + 1
    else
      local length, low, high = utf8_rule(lead)
      if length == nil or i + length - 1 > n then return false end
      local second = text:byte(i + 1)
      if second < low or second > high then return false end
      for k = i + 2, i + length - 1 do
        local byte = text:byte(k)
        if byte < 0x80 or byte > 0xBF then return false end
      end
      i = i + length
    end
  end
  return true
end

local SIMPLE_ESCAPES = {
  ['"'] = '"', ['\\'] = '\\', ['/'] = '/',
  b = '\b', f = '\f', n = '\n', r = '\r', t = '\t',
}

--- Reads `text` as one JSON value; raises an error (a string) on anything outside the subset.
function M.decode(text)
  local pos = 1
  local length = #text

  local function fail(message)
    error('invalid JSON: ' .. message .. ' at byte ' .. pos, 0)
  end

  local function skip_whitespace()
    pos = text:find('[^ \t\r\n]', pos) or length + 1
  end

  local function read_hex4()
    local hex = text:sub(pos, pos + 3)
    if not hex:match('^%x%x%x%x$') then fail('bad \\u escape') end
    pos = pos + 4
    return tonumber(hex, 16)
  end

  local function read_string(is_key)
    pos = pos + 1 -- the opening quote
    local parts = {}
    while true do
      local special = text:find('["\\\0-\31]', pos)
      if special == nil then fail('unterminated string') end
      local chunk = text:sub(pos, special - 1)
      if is_key then
        if chunk:find('[^\32-\126]') then fail('a key that is not plain ASCII') end
      elseif not valid_utf8(chunk) then
        fail('invalid UTF-8')
      end
      parts[#parts + 1] = chunk
      pos = special
      local char = text:sub(pos, pos)
      if char == '"' then
        pos = pos + 1
        return table.concat(parts)
      end
      if char ~= '\\' then fail('a control character in a string') end
      if is_key then fail('an escaped key') end
      local escape = text:sub(pos + 1, pos + 1)
      pos = pos + 2
      if SIMPLE_ESCAPES[escape] then
        parts[#parts + 1] = SIMPLE_ESCAPES[escape]
      elseif escape == 'u' then
        local code = read_hex4()
        if code >= 0xDC00 and code <= 0xDFFF then fail('a lone surrogate') end
        if code >= 0xD800 and code <= 0xDBFF then
          if text:sub(pos, pos + 1) ~= '\\u' then fail('a lone surrogate') end
          pos = pos + 2
          local low = read_hex4()
          if low < 0xDC00 or low > 0xDFFF then fail('a lone surrogate') end
          code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
        end
        parts[#parts + 1] = utf8.char(code)
      else
        fail('a bad escape')
      end
    end
  end

  local function read_integer()
    local digits = text:match('^%-?%d+', pos)
    if digits == nil then fail('an unexpected character') end
    local unsigned = digits:gsub('^%-', '')
    if #unsigned > 1 and unsigned:sub(1, 1) == '0' then fail('a leading zero') end
    if #unsigned > MAX_INTEGER_DIGITS then fail('a number out of range') end
    pos = pos + #digits
    if text:find('^[.eE]', pos) then fail('a number that is not an integer') end
    return math.tointeger(tonumber(digits))
  end

  local read_value

  local function read_object(depth)
    pos = pos + 1
    local object = setmetatable({}, OBJECT)
    local seen = {}
    skip_whitespace()
    if text:sub(pos, pos) == '}' then
      pos = pos + 1
      return object
    end
    while true do
      if text:sub(pos, pos) ~= '"' then fail('a missing key') end
      local key = read_string(true)
      local folded = key:lower()
      if seen[folded] then fail('a duplicate key') end
      seen[folded] = true
      skip_whitespace()
      if text:sub(pos, pos) ~= ':' then fail('a missing colon') end
      pos = pos + 1
      object[key] = read_value(depth + 1)
      skip_whitespace()
      local char = text:sub(pos, pos)
      pos = pos + 1
      if char == '}' then return object end
      if char ~= ',' then fail('a missing comma') end
      skip_whitespace()
    end
  end

  local function read_array(depth)
    pos = pos + 1
    local array = setmetatable({}, ARRAY)
    skip_whitespace()
    if text:sub(pos, pos) == ']' then
      pos = pos + 1
      return array
    end
    while true do
      array[#array + 1] = read_value(depth + 1)
      skip_whitespace()
      local char = text:sub(pos, pos)
      pos = pos + 1
      if char == ']' then return array end
      if char ~= ',' then fail('a missing comma') end
    end
  end

  local LITERALS = { ['true'] = true, ['false'] = false, ['null'] = M.null }

  function read_value(depth)
    if depth > MAX_DEPTH then fail('nesting too deep') end
    skip_whitespace()
    local char = text:sub(pos, pos)
    if char == '{' then return read_object(depth) end
    if char == '[' then return read_array(depth) end
    if char == '"' then return read_string(false) end
    for word, value in pairs(LITERALS) do
      if text:sub(pos, pos + #word - 1) == word then
        pos = pos + #word
        return value
      end
    end
    if char == '' then fail('a cut-off body') end
    return read_integer()
  end

  local value = read_value(1)
  skip_whitespace()
  if pos <= length then fail('data after the value') end
  return value
end

return M
