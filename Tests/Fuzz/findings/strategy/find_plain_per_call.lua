local big = string.rep("a", 3e6)
return { filter = function(s) for i = 1, 1e5 do big:find("b", 1, true) end return false end }
