return { filter = function(s)
  local t = table.move({1, 2, 3}, 1, 3, 2)
  table.sort(t, function(a, b) return a > b end)
  return table.concat(t, ",", 1, #t) ~= "", table.unpack(t, 1, 3)
end }
