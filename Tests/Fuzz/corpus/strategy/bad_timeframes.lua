return { timeframes = { "1m", "" }, filter = function() end }
