return { filter = function(s) error("line one\nline two") end }
