return { filter = function(s) return math.maxinteger // -1, math.mininteger % -1, 1 // 0.0, math.tointeger(2^53), ("%d"):format(3.0) end }
