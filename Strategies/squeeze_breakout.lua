-- Squeeze breakout: after a tight 1m range (the 20 candles before the newest span less
-- than 3%), the newest close breaks above it. Uses the `levels` plugin.
-- info = the breakout distance above the range high, in percent.
local levels = require("levels")

return {
  description = "1m close above a tight (< 3%) 20-candle range",
  timeframes = { "1m" },
  min_candles = 21,
  filter = function(s)
    local k = s.klines["1m"]
    if levels.range_width_pct(k, 20) >= 3 then return false end
    local hi = levels.range_high(k, 20)
    local close = k.close[#k]
    if close > hi then return true, levels.pct_from(close, hi) end
    return false
  end,
}
