print(("x"):rep(100), nil, {}, 1.5)
return { filter = function(s) return false end }
