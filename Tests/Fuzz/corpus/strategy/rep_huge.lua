return { filter = function(s) return #string.rep("x", 1e9) > 0 end }
