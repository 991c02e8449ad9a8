-- Range breakout on 1m candles: the newest close breaks above the highest high of the
-- 20 candles before it. info = how far above the range high, in percent.
local LOOKBACK = 20

return {
  description = "1m close above the highest high of the previous 20 candles",
  timeframes = { "1m" },
  min_candles = LOOKBACK + 1,
  filter = function(s)
    local k = s.klines["1m"]
    local n = #k
    local high = k.high
    local range_high = -math.huge
    for i = n - LOOKBACK, n - 1 do
      if high[i] > range_high then range_high = high[i] end
    end
    local close = k.close[n]
    if close > range_high then
      return true, (close / range_high - 1) * 100
    end
    return false
  end,
}
