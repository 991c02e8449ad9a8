return { filter = function(s) return load("return load('return 1')()")() == 1 end }
