local tf = {}
for i = 1, 200 do tf[i] = i .. "m" end
return { timeframes = tf, min_candles = 2, description = "many", filter = function(s) return false end }
