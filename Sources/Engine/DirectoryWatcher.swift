import Foundation
import LuaKit
import Synchronization
import Tracking
import Support
import Evaluation

#if canImport(Glibc)
  import Glibc
#endif

/// Watches directories for changes to `*.lua` files and calls `onChange` once things have
/// been quiet for `debounce` (editors save in odd ways: write to a temporary file and rename,
/// truncate then write, several events per save).
///
/// Uses inotify on Linux (written by hand: no well-kept Swift package wraps inotify); falls
/// back to polling modification times where inotify is unavailable. `onChange` runs on the
/// watcher's thread.
public final class DirectoryWatcher: Sendable {
  public let directories: [String]
  private let debounce: Double
  private let onChange: @Sendable () -> Void
  private let stopped = Atomic<Bool>(false)

  public init(
    directories: [String], debounceMs: Int = 200, onChange: @escaping @Sendable () -> Void
  ) {
    self.directories = directories
    self.debounce = Double(debounceMs) / 1000
    self.onChange = onChange
  }

  public func start() {
    let thread = Thread { [self] in self.run() }
    thread.name = "engine-watcher"
    thread.start()
  }

  public func stop() { stopped.store(true, ordering: .releasing) }

  private func run() {
    #if canImport(Glibc)
      let fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
      if fd >= 0 {
        defer { close(fd) }
        let mask = UInt32(
          IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_MODIFY
            | IN_ATTRIB)
        var watching = 0
        for dir in directories where inotify_add_watch(fd, dir, mask) >= 0 { watching += 1 }
        if watching > 0 {
          watchWithInotify(fd)
          return
        }
      }
    #endif
    watchByPolling()
  }

  #if canImport(Glibc)
    private func watchWithInotify(_ fd: Int32) {
      var buffer = [UInt8](repeating: 0, count: 64 * 1024)
      var dirtySince: Double?
      while !stopped.load(ordering: .acquiring) {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let ready = poll(&pfd, 1, 50)
        if ready > 0 {
          let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
          if n > 0, Self.mentionsLua(buffer, count: n) { dirtySince = MonotonicClock.seconds() }
        }
        if let since = dirtySince, MonotonicClock.seconds() - since >= debounce {
          dirtySince = nil
          onChange()
        }
      }
    }

    /// Whether the inotify events in `buffer` name a `*.lua` file.
    static func mentionsLua(_ buffer: [UInt8], count: Int) -> Bool {
      var offset = 0
      let header = MemoryLayout<inotify_event>.size
      var found = false
      buffer.withUnsafeBytes { raw in
        while offset + header <= count {
          let length = Int(raw.load(fromByteOffset: offset + 12, as: UInt32.self))
          let nameStart = offset + header
          let nameEnd = min(nameStart + length, count)
          if length > 0 {
            let name = raw[nameStart..<nameEnd].prefix { $0 != 0 }
            if name.count > 4, name.suffix(4).elementsEqual(".lua".utf8) { found = true }
          }
          offset = nameStart + length
        }
      }
      return found
    }
  #endif

  private func watchByPolling() {
    var last = snapshot()
    var dirtySince: Double?
    while !stopped.load(ordering: .acquiring) {
      usleep(250_000)
      let now = snapshot()
      if now != last {
        last = now
        dirtySince = MonotonicClock.seconds()
      }
      if let since = dirtySince, MonotonicClock.seconds() - since >= debounce {
        dirtySince = nil
        onChange()
      }
    }
  }

  /// Names, sizes and modification times of the `*.lua` files.
  private func snapshot() -> [String: [Double]] {
    var result: [String: [Double]] = [:]
    for dir in directories {
      for name in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
      where name.hasSuffix(".lua") {
        let attributes = try? FileManager.default.attributesOfItem(atPath: dir + "/" + name)
        let size = (attributes?[.size] as? NSNumber)?.doubleValue ?? -1
        let time = (attributes?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? -1
        result[dir + "/" + name] = [size, time]
      }
    }
    return result
  }
}
