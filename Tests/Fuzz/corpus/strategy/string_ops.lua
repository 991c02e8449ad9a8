return { filter = function(s) return ("x"):byte(-100, 100), string.char(255, 0), ("abc"):sub(2^53), ("%s"):rep(3):format(1, 2, 3) end }
