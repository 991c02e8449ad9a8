return { min_candles = -1.5, filter = function() end }
