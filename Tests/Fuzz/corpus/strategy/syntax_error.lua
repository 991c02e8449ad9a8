return { filter = function(s) return s.price > end }
