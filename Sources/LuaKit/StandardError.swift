#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Unbuffered writes to file descriptor 2, safe from any thread.
public enum StandardError {
  public static func write(_ bytes: [UInt8]) {
    bytes.withUnsafeBytes { buf in
      var offset = 0
      while offset < buf.count {
        let n = Glibc.write(2, buf.baseAddress! + offset, buf.count - offset)  // safe: count > 0
        if n <= 0 { return }
        offset += n
      }
    }
  }

  public static func write(_ text: String) { write(Array(text.utf8)) }

  /// Writes `line` followed by a newline.
  public static func line(_ line: String) { write(line + "\n") }
}
