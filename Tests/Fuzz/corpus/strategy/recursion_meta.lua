local t = setmetatable({}, {})
getmetatable(t).__index = function(t, k) return t[k .. "x"] end
return { filter = function(s) return t.a end }
