local f = load("x = 1 return _ENV", "c", "t", {})
return { filter = function(s) return f().x == 1 end }
