local n = 0
for i = 1, 1e9 do n = n + i end
return { filter = function(s) return n > 0 end }
