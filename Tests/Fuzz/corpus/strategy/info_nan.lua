return { filter = function(s) return true, 0/0 end }
