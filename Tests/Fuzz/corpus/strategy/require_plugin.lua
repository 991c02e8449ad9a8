local p = require("helpers")
return { filter = function(s) return p.double(2) == 4 end }
--@plugin helpers
local M = {}
function M.double(x) return x * 2 end
return M
