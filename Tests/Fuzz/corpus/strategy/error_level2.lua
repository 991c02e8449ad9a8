local function g() error("caller", 2) end
return { filter = function(s) g() end }
