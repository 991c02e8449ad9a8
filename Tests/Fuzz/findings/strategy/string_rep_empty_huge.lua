return { filter = function(s) return string.rep("", 1e15) == "" end }
