import Engine
import Foundation

extension ScoreReport {
  /// The report as one self-contained HTML page (no network, no other file): per strategy
  /// the figures, a histogram of r per horizon and the cumulative mean excess over time, drawn
  /// as SVG by the page's own script from the data embedded in it. `title` names the replay
  /// file in the heading.
  public func html(title: String) -> String {
    var body = ""
    body += "<header><h1>engine score</h1>"
    body += "<span class=\"pill\">\(Self.escape(title))</span>"
    if let first = firstEventTime, let last = lastEventTime {
      body += "<span class=\"pill\">\(Self.clock(first)) → \(Self.clock(last)) UTC</span>"
    }
    body +=
      "<span class=\"pill\">horizons \(Self.escape(horizons.map(\.label).joined(separator: ", ")))</span>"
    body += "</header>\n"
    body += ScorePage.explanation
    for (index, s) in strategies.enumerated() {
      body += strategySection(s, index: index)
    }
    return ScorePage.head + body + "<script type=\"application/json\" id=\"score-data\">"
      + dataJSON + "</script>\n" + ScorePage.script + "</body>\n</html>\n"
  }

  private func strategySection(_ s: StrategyScore, index: Int) -> String {
    var html =
      "<section class=\"strategy\" data-strategy=\"\(Self.escape(s.id))\" data-index=\"\(index)\">\n"
    html += "<h2>\(Self.escape(s.id))</h2>\n<div class=\"chips\">"
    html += "<span class=\"chip\">\(s.signals) signals</span>"
    html += "<span class=\"chip\">\(s.open) open</span>"
    if s.skipped > 0 { html += "<span class=\"chip warn\">\(s.skipped) skipped</span>" }
    let match = s.meanMatchSeconds.map { "mean match \(Self.fixed($0, 1)) s" } ?? "no match ended"
    html += "<span class=\"chip\">\(match)</span></div>\n"
    html += "<table class=\"figures\"><thead><tr><th>horizon</th><th>n</th><th>open</th>"
    html += "<th>mean</th><th>median</th><th>hit rate</th><th>mfe</th><th>mae</th>"
    html += "<th>excess mean</th></tr></thead><tbody>\n"
    for (k, h) in horizons.enumerated() where k < s.horizons.count {
      let f = s.horizons[k]
      let cells = [
        Self.escape(h.label), String(f.n), String(f.open), Self.cell(f.mean), Self.cell(f.median),
        f.hitRate.map { Self.fixed($0 * 100, 1) + "%" } ?? "–", Self.cell(f.mfe), Self.cell(f.mae),
        Self.cell(f.excessMean),
      ]
      html += "<tr>" + cells.map { "<td>\($0)</td>" }.joined() + "</tr>\n"
    }
    html += "</tbody></table>\n"
    if s.horizons.allSatisfy({ $0.n == 0 }) {
      html += "<p class=\"none\">No scored signal: nothing to draw.</p>\n"
    } else {
      html += "<h3>Distribution of r = p<sub>h</sub> / p<sub>0</sub> − 1</h3>\n"
      html += "<div class=\"histograms\"></div>\n"
      html += "<h3>Cumulative mean excess over the market</h3>\n"
      html += "<div class=\"excess\"></div>\n"
    }
    html += "</section>\n"
    return html
  }

  /// The samples the page draws: per strategy and horizon the signals' times, r and excess
  /// (six significant digits: enough to draw, a fraction of the size).
  private var dataJSON: String {
    var out: [UInt8] = []
    JSONText.append("{\"horizons\":[", to: &out)
    for (i, h) in horizons.enumerated() {
      if i > 0 { out.append(UInt8(ascii: ",")) }
      Self.appendScriptString(h.label, to: &out)
    }
    JSONText.append("],\"strategies\":[", to: &out)
    for (i, s) in strategies.enumerated() {
      if i > 0 { out.append(UInt8(ascii: ",")) }
      JSONText.append("{\"id\":", to: &out)
      Self.appendScriptString(s.id, to: &out)
      JSONText.append(",\"horizons\":[", to: &out)
      for (k, score) in s.horizons.enumerated() {
        if k > 0 { out.append(UInt8(ascii: ",")) }
        JSONText.append("{\"mean\":", to: &out)
        Self.appendShort(score.mean, to: &out)
        JSONText.append(",\"t\":[", to: &out)
        for (j, x) in score.samples.enumerated() {
          if j > 0 { out.append(UInt8(ascii: ",")) }
          JSONText.appendInteger(x.time, to: &out)
        }
        JSONText.append("],\"r\":[", to: &out)
        for (j, x) in score.samples.enumerated() {
          if j > 0 { out.append(UInt8(ascii: ",")) }
          Self.appendShort(x.r, to: &out)
        }
        JSONText.append("],\"x\":[", to: &out)
        for (j, x) in score.samples.enumerated() {
          if j > 0 { out.append(UInt8(ascii: ",")) }
          Self.appendShort(x.excess, to: &out)
        }
        JSONText.append("]}", to: &out)
      }
      JSONText.append("]}", to: &out)
    }
    JSONText.append("]}", to: &out)
    return String(decoding: out, as: UTF8.self)
  }

  private static func appendShort(_ value: Double?, to out: inout [UInt8]) {
    guard let value, value.isFinite else {
      JSONText.append("null", to: &out)
      return
    }
    out.append(contentsOf: String(format: "%.6g", value).utf8)
  }

  /// A JSON string that is safe inside `<script>`: `<` is written `\u003c`, so no text in
  /// it can close the element.
  private static func appendScriptString(_ s: String, to out: inout [UInt8]) {
    var text: [UInt8] = []
    JSONText.appendString(s, to: &text)
    for byte in text {
      if byte == UInt8(ascii: "<") {
        out.append(contentsOf: Array("\\u003c".utf8))
      } else {
        out.append(byte)
      }
    }
  }

  private static func cell(_ fraction: Double?) -> String {
    let text = percent(fraction)
    guard let fraction, fraction != 0, text != "-" else { return text == "-" ? "–" : text }
    return "<span class=\"\(fraction > 0 ? "up" : "down")\">\(text)</span>"
  }

  static func escape(_ text: String) -> String {
    var out = ""
    for c in text {
      switch c {
      case "&": out += "&amp;"
      case "<": out += "&lt;"
      case ">": out += "&gt;"
      case "\"": out += "&quot;"
      case "'": out += "&#39;"
      default: out.append(c)
      }
    }
    return out
  }

  /// `YYYY-MM-DD HH:MM:SS` (UTC) of a time in ms.
  static func clock(_ ms: Int64) -> String {
    let date = Date(timeIntervalSince1970: Double(ms) / 1000)
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
    let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
    func two(_ v: Int?) -> String { String(format: "%02d", v ?? 0) }
    return
      "\(c.year ?? 0)-\(two(c.month))-\(two(c.day)) \(two(c.hour)):\(two(c.minute)):\(two(c.second))"
  }
}
