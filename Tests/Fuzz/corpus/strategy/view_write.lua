return { timeframes = { "1m" }, filter = function(s) s.klines["1m"].close[1] = 0 end }
