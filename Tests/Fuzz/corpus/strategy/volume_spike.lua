-- Volume spike on 1m candles: the newest candle trades more than 3x the average volume
-- of the 20 candles before it. info = the multiple of the average.
local LOOKBACK = 20
local MULTIPLE = 3

return {
  description = "1m volume above 3x the 20-candle average",
  timeframes = { "1m" },
  min_candles = LOOKBACK + 1,
  filter = function(s)
    local k = s.klines["1m"]
    local n = #k
    local volume = k.volume
    local sum = 0
    for i = n - LOOKBACK, n - 1 do sum = sum + volume[i] end
    local average = sum / LOOKBACK
    if average > 0 and volume[n] > MULTIPLE * average then
      return true, volume[n] / average
    end
    return false
  end,
}
