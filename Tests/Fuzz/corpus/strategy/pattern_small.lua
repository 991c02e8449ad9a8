return { filter = function(s) return string.find(string.rep("a", 40), ".-.-b") ~= nil end }
