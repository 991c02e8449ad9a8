return { filter = function(s) return true, {} end }
