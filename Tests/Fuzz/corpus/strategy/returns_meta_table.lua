return setmetatable({}, { __index = { filter = function() return true end } })
