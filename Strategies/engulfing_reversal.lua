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
