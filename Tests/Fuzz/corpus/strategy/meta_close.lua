return { filter = function(s)
  local x <close> = setmetatable({}, { __close = function() error("closing") end })
  return true
end }
