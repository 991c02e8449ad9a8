return { filter = function(s) error(setmetatable({}, { __tostring = function() return "custom error" end })) end }
