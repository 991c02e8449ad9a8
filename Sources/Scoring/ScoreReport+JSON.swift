import Engine

extension ScoreReport {
  /// The report as one JSON object on one line (with its newline):
  /// `{"horizons":[…],"strategies":[{"id","signals","open","skipped","mean_match_s",
  /// "horizons":{"5m":{"n","open","mean","median","hit_rate","mfe","mae","excess_mean"}}}]}`.
  /// Keys keep this order; a figure with no data (n = 0, no match ended) is `null`.
  public var json: String {
    var out: [UInt8] = []
    JSONText.append("{\"horizons\":[", to: &out)
    for (i, h) in horizons.enumerated() {
      if i > 0 { out.append(UInt8(ascii: ",")) }
      JSONText.appendString(h.label, to: &out)
    }
    JSONText.append("],\"strategies\":[", to: &out)
    for (i, s) in strategies.enumerated() {
      if i > 0 { out.append(UInt8(ascii: ",")) }
      JSONText.append("{\"id\":", to: &out)
      JSONText.appendString(s.id, to: &out)
      JSONText.append(",\"signals\":", to: &out)
      JSONText.appendInteger(Int64(s.signals), to: &out)
      JSONText.append(",\"open\":", to: &out)
      JSONText.appendInteger(Int64(s.open), to: &out)
      JSONText.append(",\"skipped\":", to: &out)
      JSONText.appendInteger(Int64(s.skipped), to: &out)
      JSONText.append(",\"mean_match_s\":", to: &out)
      Self.append(s.meanMatchSeconds, to: &out)
      JSONText.append(",\"horizons\":{", to: &out)
      for (k, h) in zip(horizons.indices, horizons) where k < s.horizons.count {
        let score = s.horizons[k]
        if k > 0 { out.append(UInt8(ascii: ",")) }
        JSONText.appendString(h.label, to: &out)
        JSONText.append(":{\"n\":", to: &out)
        JSONText.appendInteger(Int64(score.n), to: &out)
        JSONText.append(",\"open\":", to: &out)
        JSONText.appendInteger(Int64(score.open), to: &out)
        JSONText.append(",\"mean\":", to: &out)
        Self.append(score.mean, to: &out)
        JSONText.append(",\"median\":", to: &out)
        Self.append(score.median, to: &out)
        JSONText.append(",\"hit_rate\":", to: &out)
        Self.append(score.hitRate, to: &out)
        JSONText.append(",\"mfe\":", to: &out)
        Self.append(score.mfe, to: &out)
        JSONText.append(",\"mae\":", to: &out)
        Self.append(score.mae, to: &out)
        JSONText.append(",\"excess_mean\":", to: &out)
        Self.append(score.excessMean, to: &out)
        out.append(UInt8(ascii: "}"))
      }
      JSONText.append("}}", to: &out)
    }
    JSONText.append("]}\n", to: &out)
    return String(decoding: out, as: UTF8.self)
  }

  private static func append(_ value: Double?, to out: inout [UInt8]) {
    if let value {
      JSONText.appendNumber(value, to: &out)
    } else {
      JSONText.append("null", to: &out)
    }
  }
}
