return { filter = function(s) setmetatable({}, { __gc = function() end }) return true end }
