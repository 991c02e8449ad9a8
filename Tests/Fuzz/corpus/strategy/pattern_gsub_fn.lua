return { filter = function(s)
  local n = 0
  local r = string.gsub(s.symbol, "%w", function(c) n = n + 1 return c:rep(3) end)
  return #r > n, r
end }
