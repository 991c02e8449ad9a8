return { filter = function(s) for i = 1, 1e5 do select("#", table.unpack({}, 1, 9e5)) end return false end }
