return { timeframes = { "1m" }, filter = function(s)
  local c = s.klines["1m"].close
  return ta.sma(c, 0), ta.rsi(c, -5), ta.ema(c, 1e9), ta.bbands(c, 20, 1/0), ta.macd(c, 26, 12, 9)
end }
