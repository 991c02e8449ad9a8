error("other.lua:3: not here", 0)
