return { filter = function(s) return #string.rep("ab", 1000, ",") > 0 end }
