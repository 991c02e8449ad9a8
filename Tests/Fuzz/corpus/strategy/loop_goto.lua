return { filter = function(s) ::top:: if s.price then goto top end return false end }
