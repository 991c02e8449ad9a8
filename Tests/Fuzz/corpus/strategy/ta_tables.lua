return { filter = function(s)
  local t = {}
  for i = 1, 100 do t[i] = i % 7 end
  return ta.sma(t, 5) > 0, ta.stddev(t, 10), ta.highest(t, 3), ta.crossover(t, {1, 2})
end }
