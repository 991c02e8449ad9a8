-- Levels and ranges on a kline series view `k` (as in s.klines["1m"]).
-- Usage: local levels = require("levels"); local hi = levels.range_high(k, 20)

local levels = {}

--- Highest high of the `n` candles before candle i (default: before the newest).
function levels.range_high(k, n, i)
  i = i or #k
  local from = math.max(1, i - n)
  local hi = -math.huge
  for j = from, i - 1 do
    local h = k.high[j]
    if h > hi then hi = h end
  end
  return hi
end

--- Lowest low of the `n` candles before candle i (default: before the newest).
function levels.range_low(k, n, i)
  i = i or #k
  local from = math.max(1, i - n)
  local lo = math.huge
  for j = from, i - 1 do
    local l = k.low[j]
    if l < lo then lo = l end
  end
  return lo
end

--- Distance of `price` from `level`, in percent of the level.
function levels.pct_from(price, level)
  return (price / level - 1) * 100
end

--- Width of the `n`-candle range before candle i, in percent of its low.
function levels.range_width_pct(k, n, i)
  local lo = levels.range_low(k, n, i)
  return (levels.range_high(k, n, i) / lo - 1) * 100
end

return levels
