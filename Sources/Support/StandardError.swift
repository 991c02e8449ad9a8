/// Unbuffered writes to file descriptor 2, safe from any thread: the one writer of the
/// engine's reports (stdout carries the diffs).
public enum StandardError {
  public static func write(_ bytes: [UInt8]) { writeAll(2, bytes) }

  public static func write(_ text: String) { write(Array(text.utf8)) }

  /// Writes `line` followed by a newline.
  public static func line(_ line: String) { write(line + "\n") }
}
