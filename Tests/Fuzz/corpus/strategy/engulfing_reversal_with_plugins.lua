-- Engulfing reversal: a bullish engulfing 1m candle after at least three red candles,
-- from a symbol trading in the lower half of its 20-candle range. Uses the `candles` and
-- `levels` plugins (Plugins/). info = the number of red candles before the reversal.
local candles = require("candles")
local levels = require("levels")

return {
  description = "bullish engulfing after 3+ red 1m candles, low in the 20-candle range",
  timeframes = { "1m" },
  min_candles = 21,
  filter = function(s)
    local k = s.klines["1m"]
    local n = #k
    if not candles.bullish_engulfing(k, n) then return false end
    local streak = candles.red_streak(k, n - 1)
    if streak < 3 then return false end
    local lo, hi = levels.range_low(k, 20), levels.range_high(k, 20)
    if k.close[n] > lo + (hi - lo) / 2 then return false end
    return true, streak
  end,
}
--@plugin candles
-- Candle patterns on a kline series view `k` (as in s.klines["1m"]).
-- Each function looks at the candle at index i (default: the newest, #k) and returns true
-- or false. Usage: local candles = require("candles"); if candles.bullish_engulfing(k) then ...

local candles = {}

local function body(k, i) return math.abs(k.close[i] - k.open[i]) end
local function range(k, i) return k.high[i] - k.low[i] end

--- A green candle whose body engulfs the previous red candle's body.
function candles.bullish_engulfing(k, i)
  i = i or #k
  if i < 2 then return false end
  local po, pc, o, c = k.open[i - 1], k.close[i - 1], k.open[i], k.close[i]
  return pc < po and c > o and o <= pc and c >= po
end

--- A red candle whose body engulfs the previous green candle's body.
function candles.bearish_engulfing(k, i)
  i = i or #k
  if i < 2 then return false end
  local po, pc, o, c = k.open[i - 1], k.close[i - 1], k.open[i], k.close[i]
  return pc > po and c < o and o >= pc and c <= po
end

--- A hammer: small body in the upper third, lower wick at least twice the body.
function candles.hammer(k, i)
  i = i or #k
  local r = range(k, i)
  if r <= 0 then return false end
  local b = body(k, i)
  local lower = math.min(k.open[i], k.close[i]) - k.low[i]
  return lower >= 2 * b and (k.high[i] - math.max(k.open[i], k.close[i])) <= r / 3
end

--- A doji: the body is at most `share` (default 10%) of the candle's range.
function candles.doji(k, i, share)
  i = i or #k
  local r = range(k, i)
  return r > 0 and body(k, i) <= (share or 0.1) * r
end

--- Number of consecutive red candles ending at i.
function candles.red_streak(k, i)
  i = i or #k
  local n = 0
  while i >= 1 and k.close[i] < k.open[i] do
    n = n + 1
    i = i - 1
  end
  return n
end

return candles
--@plugin levels
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
