return { filter = function(s) getmetatable("").__index = {} return true end }
