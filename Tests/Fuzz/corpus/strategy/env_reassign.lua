return { filter = function(s) local _ENV = { ta = ta } return ta.rsi(s.klines["1m"].close, 14) < 30 end }
