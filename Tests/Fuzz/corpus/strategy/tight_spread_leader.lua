-- Liquid leader: a tight book (spread under 0.05% of the price) on a symbol trading
-- above its 24h volume-weighted average price with more than 10M quote volume.
-- info = the spread in basis points.
return {
  description = "spread < 5 bp, price above 24h VWAP, quote volume > 10M",
  filter = function(s)
    if not (s.bid and s.ask and s.vwap) then return false end
    local spread = (s.ask - s.bid) / s.price
    if spread < 0.0005 and s.price > s.vwap and s.quote_volume > 1e7 then
      return true, spread * 10000
    end
    return false
  end,
}
