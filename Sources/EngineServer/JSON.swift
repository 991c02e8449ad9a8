import Foundation

/// JSON text for the server's bodies and events (status, history, cycle samples).
enum JSON {
  /// `value` as JSON with sorted keys, so the same value always gives the same text;
  /// non-finite numbers become the strings `"inf"`, `"-inf"` and `"nan"` (JSON has no literal
  /// for them). Nil when `value` cannot be encoded.
  static func encode(_ value: some Encodable) -> String? {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    encoder.nonConformingFloatEncodingStrategy = .convertToString(
      positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    guard let data = try? encoder.encode(value) else { return nil }
    return String(decoding: data, as: UTF8.self)
  }
}
