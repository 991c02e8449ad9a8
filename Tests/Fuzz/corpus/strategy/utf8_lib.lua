return { filter = function(s)
  local n = 0
  for _, c in utf8.codes("h\u{E9}llo") do n = n + c end
  return utf8.len("\xff") == nil, utf8.char(72, 0x10FFFF)
end }
