return { filter = function(s, ...) return select("#", ...) == 0, select(-1, 1, 2) end }
