local t = setmetatable({}, { __lt = function() local i = 0 repeat i = i + 1 until i > 10 return true end })
return { filter = function(s) return t < t end }
