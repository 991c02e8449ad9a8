-- Bollinger + RSI: the newest 1m close below the lower Bollinger band (20, 2) with RSI(14)
-- under 35 - a stretched, oversold move - on a symbol with over 1M quote volume.
-- Uses the native `ta` library. info = the RSI value.
return {
  description = "1m close below the lower Bollinger band, RSI(14) < 35",
  timeframes = { "1m" },
  min_candles = 30,
  filter = function(s)
    if s.quote_volume < 1e6 then return false end
    local close = s.klines["1m"].close
    local _, _, lower = ta.bbands(close, 20, 2)
    local rsi = ta.rsi(close, 14)
    if lower and rsi and close[#close] < lower and rsi < 35 then
      return true, rsi
    end
    return false
  end,
}
