return { filter = function(s) return load("\27Lua", "x", "b") end }
