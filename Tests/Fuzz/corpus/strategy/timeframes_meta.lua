return { timeframes = setmetatable({}, { __index = function(t, i) if i < 3 then return "1m" end end }), filter = function(s) return true end }
