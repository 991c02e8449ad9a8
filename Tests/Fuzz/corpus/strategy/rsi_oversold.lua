-- RSI oversold, in pure Lua: Wilder's RSI(14) of 1m closes below 30 (computed over the
-- last 60 candles, seeded with the simple average of the first 14 changes, as TA-Lib does).
-- info = the RSI value.
local PERIOD = 14
local WINDOW = 60

local function rsi(close, n, period)
  local first = math.max(1, n - WINDOW + 1)
  if n - first < period then return nil end
  local gain, loss = 0, 0
  for i = first + 1, first + period do
    local d = close[i] - close[i - 1]
    if d > 0 then gain = gain + d else loss = loss - d end
  end
  gain, loss = gain / period, loss / period
  for i = first + period + 1, n do
    local d = close[i] - close[i - 1]
    local up, down = 0, 0
    if d > 0 then up = d else down = -d end
    gain = (gain * (period - 1) + up) / period
    loss = (loss * (period - 1) + down) / period
  end
  if gain + loss == 0 then return 50 end
  return 100 * gain / (gain + loss)
end

return {
  description = "Wilder RSI(14) of 1m closes below 30",
  timeframes = { "1m" },
  min_candles = PERIOD + 1,
  filter = function(s)
    local k = s.klines["1m"]
    local value = rsi(k.close, #k, PERIOD)
    if value and value < 30 then return true, value end
    return false
  end,
}
