// Watching the config file: the settings re-resolved after each good edit.

import Foundation
import Support
import Synchronization

/// Watches the config file and calls `onChange` with the newly resolved settings when it changes.
///
/// Polls the file's modification time, size and inode every `interval` on a background thread
/// (not swift-configuration's `ReloadingFileProvider`: it needs the "Reloading" trait and a
/// ServiceLifecycle service, where loading here is synchronous). A change is re-resolved with
/// the same overrides and environment, so command-line options and environment variables still
/// win over the file. `onChange` is called only when the resolved settings differ. A bad edit (or a missing file) is passed to
/// `onError`, by default one line on stderr, and the previous settings are kept.
/// Both callbacks run on the watcher's thread.
public final class SettingsWatcher: Sendable {
  /// The file being watched.
  public let path: String
  private let overrides: [String: String]
  private let explicitPath: Bool
  private let environment: [String: String]
  private let interval: Duration
  private let onChange: @Sendable (Settings) -> Void
  private let onError: @Sendable (SettingsError) -> Void
  private let state: Mutex<State>

  private struct State {
    var current: Settings
    var signature: SettingsFileSignature?
    var stop: SettingsStopSignal?
  }

  /// - Parameters:
  ///   - overrides, configPath, environment: as for `Settings.load`; with a nil `configPath`,
  ///     `config/engine.yaml` is watched (and may appear later).
  ///   - initial: the settings in effect now (what `Settings.load` returned).
  ///   - interval: how often to look at the file.
  ///   - onError: called with a bad edit; the default prints its one line to stderr.
  ///   - onChange: called with the new settings after a good edit that changed them.
  public init(
    overrides: [String: String] = [:],
    configPath: String?,
    environment: [String: String],
    initial: Settings,
    interval: Duration = .milliseconds(500),
    onError: @escaping @Sendable (SettingsError) -> Void = SettingsWatcher.printToStandardError,
    onChange: @escaping @Sendable (Settings) -> Void
  ) {
    self.path = configPath ?? Settings.defaultConfigPath
    self.overrides = overrides
    self.explicitPath = configPath != nil
    self.environment = environment
    self.interval = interval
    self.onChange = onChange
    self.onError = onError
    self.state = Mutex(State(current: initial, signature: SettingsFileSignature(path: path)))
  }

  deinit { state.withLock { $0.stop?.signal() } }

  /// The settings in effect: `initial`, or the last good edit.
  public var current: Settings { state.withLock { $0.current } }

  /// Starts polling on a background thread; does nothing if already started.
  public func start() {
    let stop = SettingsStopSignal()
    let started = state.withLock { state -> Bool in
      guard state.stop == nil else { return false }
      state.stop = stop
      return true
    }
    guard started else { return }
    let interval =
      TimeInterval(interval.components.seconds)
      + TimeInterval(interval.components.attoseconds) / 1e18
    let thread = Thread { [weak self] in
      while !stop.wait(seconds: interval) {
        guard let self else { return }
        self.poll()
      }
    }
    thread.name = "SettingsWatcher"
    thread.start()
  }

  /// Stops polling; the thread ends promptly. `start()` may be called again.
  public func stop() {
    state.withLock { state in
      state.stop?.signal()
      state.stop = nil
    }
  }

  /// Looks at the file once, as the background thread does every interval.
  public func poll() {
    let signature = SettingsFileSignature(path: path)
    let changed = state.withLock { state -> Bool in
      guard state.signature != signature else { return false }
      state.signature = signature
      return true
    }
    guard changed else { return }
    if signature == nil && !explicitPath {
      // config/engine.yaml removed: keep the settings (an editor may be replacing it).
      onError(SettingsError("\(path): config file not found; keeping the previous settings"))
      return
    }
    do {
      let settings = try Settings.load(
        overrides: overrides, configPath: path, environment: environment)
      let isNew = state.withLock { state -> Bool in
        guard state.current != settings else { return false }
        state.current = settings
        return true
      }
      if isNew { onChange(settings) }
    } catch {
      onError(error)
    }
  }

  /// Writes the error and a newline to stderr.
  public static let printToStandardError: @Sendable (SettingsError) -> Void = { error in
    StandardError.line(error.description)
  }
}

/// What the watcher compares between polls.
private struct SettingsFileSignature: Equatable {
  var modified: Date?
  var size: UInt64?
  var inode: UInt64?

  init?(path: String) {
    guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else {
      return nil
    }
    modified = attributes[.modificationDate] as? Date
    size = (attributes[.size] as? NSNumber)?.uint64Value
    inode = (attributes[.systemFileNumber] as? NSNumber)?.uint64Value
  }
}

/// Wakes the watcher thread when stopped.
private final class SettingsStopSignal: Sendable {
  private let stopped = Mutex(false)
  private let semaphore = DispatchSemaphore(value: 0)

  func signal() {
    let first = stopped.withLock { stopped in
      defer { stopped = true }
      return !stopped
    }
    if first { semaphore.signal() }
  }

  /// Waits up to `seconds`; true once stopped.
  func wait(seconds: TimeInterval) -> Bool {
    _ = semaphore.wait(timeout: .now() + seconds)
    return stopped.withLock { $0 }
  }
}
