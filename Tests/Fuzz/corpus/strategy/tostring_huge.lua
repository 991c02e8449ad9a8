return { filter = function(s) return true, string.format("%5.2f %q %s", 1/0, "x\0y", {}) end }
