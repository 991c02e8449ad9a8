return { filter = function(s) rawset(s, "price", -1) return true end }
