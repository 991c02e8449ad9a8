local p = require("loop")
return { filter = function(s) return true end }
--@plugin loop
return require("loop")
