return { filter = function(s) error({ code = 42 }) end }
