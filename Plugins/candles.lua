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
