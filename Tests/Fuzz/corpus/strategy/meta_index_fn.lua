local t = setmetatable({}, { __index = function(t, k) return k end })
return { filter = function(s) return t.x == "x" end }
