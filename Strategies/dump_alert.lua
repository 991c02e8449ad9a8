-- Dump alert: symbols down more than 5% over 24h, trading near the day's low
-- (within 2% of it). info = the 24h change in percent.
return {
  description = "24h change below -5%, price within 2% of the 24h low",
  filter = function(s)
    if s.change_pct < -5 and s.price <= s.low * 1.02 then
      return true, s.change_pct
    end
    return false
  end,
}
