return { filter = function(s) return string.find("abc", "%b") or string.find("a", "[a") end }
