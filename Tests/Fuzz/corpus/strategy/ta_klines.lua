return { timeframes = { "5m" }, min_candles = 30, filter = function(s)
  local k = s.klines["5m"]
  return ta.atr(k, 14) > 0, ta.stoch(k), ta.adx(k), ta.vwap(k), ta.obv(k), ta.mfi(k, 3)
end }
