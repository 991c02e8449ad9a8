#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Writes all of `bytes` to the file descriptor `fd`, retrying short and interrupted writes;
/// gives up silently on any other error (a closed pipe must not stop the engine).
public func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
  bytes.withUnsafeBytes { buf in
    guard let base = buf.baseAddress else { return }
    var offset = 0
    while offset < buf.count {
      let n = write(fd, base + offset, buf.count - offset)
      if n <= 0 {
        if n < 0, errno == EINTR { continue }
        return
      }
      offset += n
    }
  }
}
