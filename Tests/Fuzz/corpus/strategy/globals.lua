x = 1
return { filter = function(s) _G.ta = nil; _ENV.math = nil; return false end }
