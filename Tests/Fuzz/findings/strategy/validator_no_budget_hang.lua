return { timeframes = setmetatable({}, { __index = function(t, i) while true do end end }), filter = function(s) return true end }
