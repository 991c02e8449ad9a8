local t = {}
for i = 1, 1e5 do t[i] = "" end
return { filter = function(s) for i = 1, 2e5 do table.concat(t) end return false end }
