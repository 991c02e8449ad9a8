local f = load("return 1 + 2")
return { filter = function(s) return f() == 3 end }
