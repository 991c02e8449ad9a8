return { filter = function(s) return string.find(string.rep("a", 4000), ".-.-.-.-b") end }
