return { filter = function(s)
