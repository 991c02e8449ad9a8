/// A strict-enough parser of the Prometheus text format (0.0.4).
struct PrometheusText {
  struct ParseError: Error, CustomStringConvertible {
    var description: String
  }
  var types: [String: String] = [:]
  var help: [String: String] = [:]
  /// `name{labels}` (or `name`) → value.
  var samples: [String: Double] = [:]

  init(_ text: String) throws {
    let validTypes: Set<String> = ["counter", "gauge", "histogram", "summary", "untyped"]
    for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
      if line.hasPrefix("# TYPE ") {
        let parts = line.split(separator: " ")
        guard parts.count == 4, validTypes.contains(String(parts[3])) else {
          throw ParseError(description: "bad TYPE line: \(line)")
        }
        guard types[String(parts[2])] == nil else {
          throw ParseError(description: "duplicate TYPE for \(parts[2])")
        }
        types[String(parts[2])] = String(parts[3])
      } else if line.hasPrefix("# HELP ") {
        let parts = line.split(separator: " ", maxSplits: 3)
        guard parts.count >= 3 else { throw ParseError(description: "bad HELP line: \(line)") }
        help[String(parts[2])] = parts.count == 4 ? String(parts[3]) : ""
      } else if line.hasPrefix("#") {
        continue
      } else {
        guard let space = line.lastIndex(of: " ") else {
          throw ParseError(description: "bad sample: \(line)")
        }
        let key = String(line[..<space])
        let valueText = String(line[line.index(after: space)...])
        guard let value = Double(valueText) ?? (valueText == "+Inf" ? .infinity : nil) else {
          throw ParseError(description: "bad value: \(line)")
        }
        let name = key.prefix { $0 != "{" }
        guard
          name.first.map({ $0.isLetter || $0 == "_" }) == true,
          name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == ":" })
        else { throw ParseError(description: "bad metric name: \(line)") }
        if key.contains("{") && !key.hasSuffix("}") {
          throw ParseError(description: "bad labels: \(line)")
        }
        samples[key] = value
      }
    }
    // Every sample belongs to a family with a TYPE line.
    for key in samples.keys {
      let name = String(key.prefix { $0 != "{" })
      let family = ["_bucket", "_sum", "_count"].reduce(name) { n, suffix in
        n.hasSuffix(suffix) && types[n] == nil ? String(n.dropLast(suffix.count)) : n
      }
      guard types[family] != nil else { throw ParseError(description: "no TYPE for \(name)") }
    }
  }

  func value(_ name: String, labels: String? = nil) -> Double? {
    if let labels { return samples["\(name){\(labels)}"] }
    return samples[name]
  }
}
