return { timeframes = { "1m", "1h" }, filter = function(s)
  local k = s.klines["1m"]
  local n = 0
  for key, v in pairs(s) do n = n + 1 end
  return k.close[0], k.close[-1], k.close[#k + 1], k.close[1.5], k.close["x"], #k.open, rawget(s, "price"), getmetatable(s), n
end }
