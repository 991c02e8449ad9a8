return { filter = function(s) error(42) end }
