-- Momentum: symbols up more than 5% over 24h with real money behind the move
-- (over 1M of quote volume). info = the 24h change in percent.
return {
  description = "24h change above +5% on more than 1M quote volume",
  filter = function(s)
    if s.change_pct > 5 and s.quote_volume > 1e6 then
      return true, s.change_pct
    end
    return false
  end,
}
