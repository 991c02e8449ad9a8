local p = require("bad")
return { filter = function(s) return true end }
--@plugin bad
error({})
