return { filter = function(s) return table.move({}, 1, 1e15, 2) end }
