return { timeframes = { "1m" }, filter = function(s) return ta.rsi(s.klines["1m"].close, 14) < 30 and math.abs(s.change_pct) > 1 end }
