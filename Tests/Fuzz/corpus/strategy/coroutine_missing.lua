return { filter = function(s) return coroutine.wrap(function() end) end }
