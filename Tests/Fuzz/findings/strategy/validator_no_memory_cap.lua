return { timeframes = setmetatable({}, { __index = function(t, i) return "1m" end }), filter = function(s) return true end }
