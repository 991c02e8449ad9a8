local t = {}
for i = 1, 2e5 do t[i] = i end
return { filter = function(s) for i = 1, 2e5 do ta.sma(t, 2) end return false end }
