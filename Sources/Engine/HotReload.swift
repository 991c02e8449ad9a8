import EngineSettings
import Evaluation
import Feeds
import Foundation
import LuaKit
import Support
import Synchronization
import Tracking

#if canImport(Glibc)
  import Glibc
#endif

extension CycleEngine {
  /// Asks for `code` to replace the running strategies and plugins at the next cycle
  /// boundary (hot reload). Any thread may call it; the latest request wins.
  public func requestReload(_ code: CodeSet) {
    pendingReload.withLock { $0 = code }
  }

  /// Asks for `code` to replace the running strategies and plugins when cycle `cycle` of a
  /// `FeedMessage.cycle` input closes, before it is evaluated: every engine fed the same
  /// cycles swaps at the same one. Any thread; call it before that cycle is delivered.
  public func requestReload(_ code: CodeSet, atCycle cycle: Int64) {
    scheduledReloads.withLock { $0[cycle] = code }
  }

  /// Hot reload at a cycle boundary: compiles what changed in a scratch state first, keeps
  /// the old version of anything that fails (reporting `file:line: message` once), swaps the
  /// rest into every worker, and schedules the changed strategies for evaluation on every
  /// symbol. Removed strategies exit every symbol they matched.
  func applyPendingReload(now: Int64) {
    guard
      let next = pendingReload.withLock({ p -> CodeSet? in
        defer { p = nil }
        return p
      })
    else { return }
    let old = code
    let oldByID = Dictionary(old.strategies.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
    let pluginsChanged = next.plugins != old.plugins
    let candidates = next.strategies.filter {
      pluginsChanged || oldByID[$0.id] != $0
    }
    let failed: [String: EngineError]
    do {
      failed = try validate(candidates, plugins: next.plugins).failed
    } catch {
      log("reload: \(error)")
      return
    }
    for s in candidates where failed[s.id] != nil {
      // A strategy's text and settings: a refused version is reported once.
      let key = [s.id, s.source, "\(s.config)"] + next.plugins.map(\.source)
      if !reportedReloadErrors.contains(key) {
        reportedReloadErrors.insert(key)
        log("\(failed[s.id]?.description ?? "") (the previous version keeps running)")
      }
    }
    var effective = next
    if pluginsChanged && !failed.isEmpty {
      log(
        "reload: plugin change refused: it breaks \(failed.keys.sorted().joined(separator: ", "))")
      effective.plugins = old.plugins
      effective.strategies = next.strategies.compactMap { s in
        failed[s.id] == nil && oldByID[s.id] == s ? s : oldByID[s.id]
      }
      // Strategies whose own source changed are tried again with the old plugins next time.
      if effective == old { return }
    } else {
      effective.strategies = next.strategies.compactMap { s in
        failed[s.id] == nil ? s : oldByID[s.id]
      }
    }
    let changed = Set(
      effective.strategies.filter {
        pluginsChanged && effective.plugins == next.plugins || oldByID[$0.id] != $0
      }
      .map(\.id))
    let removed = old.strategies.map(\.id).filter { id in
      !effective.strategies.contains { $0.id == id }
    }
    guard !changed.isEmpty || !removed.isEmpty || effective.plugins != old.plugins else { return }

    for w in workers { w.send(.load(effective, changed: changed)) }
    var compiled: [StrategyInfo]?
    for w in workers {
      let r = w.wait()
      if let e = r.compileError {
        log("reload: worker \(w.index): \(e)")
      } else if w.index == 0 {
        compiled = r.compiled
      }
    }
    guard let compiled else { return }
    for id in removed {
      if let k = strategies.firstIndex(where: { $0.id == id }) {
        pendingExits += exits(of: k, now: now)
      }
    }
    let oldIndex = Dictionary(
      strategies.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { a, _ in a })
    book.remap(compiled.map { oldIndex[$0.id] })
    strategies = compiled
    syncGates()
    code = effective
    for id in changed {
      health.forgive(id)
    }
    fullEvaluation = Set(strategies.indices.filter { changed.contains(strategies[$0].id) })
    var parts: [String] = []
    let added = changed.filter { oldByID[$0] == nil }.sorted()
    let updated = changed.filter { oldByID[$0] != nil }.sorted()
    if !added.isEmpty { parts.append("added \(added.joined(separator: ", "))") }
    if !updated.isEmpty { parts.append("reloaded \(updated.joined(separator: ", "))") }
    if !removed.isEmpty { parts.append("removed \(removed.joined(separator: ", "))") }
    if effective.plugins != old.plugins { parts.append("plugins updated") }
    summary.reloads += 1
    log("reload: " + parts.joined(separator: "; "))
  }
}

extension CycleEngine {
  /// Hot reload: a watcher on the strategies and plugins directories that, once
  /// a save has settled, reads both and asks this engine to swap them in at the next cycle
  /// boundary. A directory that cannot be read is reported on stderr. Call `start()`.
  public func reloadWatcher(strategies: String, plugins: String) -> DirectoryWatcher {
    DirectoryWatcher(directories: [strategies, plugins]) { [self] in
      reloadFiles(strategies: strategies, plugins: plugins)
    }
  }

  /// Reads the strategy and plugin files again, applies the current `strategy.*` settings
  /// and asks for the result to be swapped in at the next cycle boundary (any thread).
  func reloadFiles(strategies: String, plugins: String) {
    do {
      let files = try CodeSet.load(strategies: strategies, plugins: plugins)
      let raw = strategySettings.withLock { $0 }
      requestReload(try StrategySettings.apply(raw, to: files))
    } catch {
      StandardError.line("reload: \(error)")
    }
  }

  /// New `strategy.*` settings (a changed config file): checked against the strategy files,
  /// then applied like an edit of the files they change. A value for no strategy is refused
  /// with one line, and the old values stay; one a strategy refuses (an unknown param, a
  /// value of the wrong type) is reported when the reload compiles it, and its old version
  /// keeps running. Any thread.
  public func updateStrategySettings(
    _ raw: [String: SettingsRawValue], strategies: String, plugins: String
  ) {
    do {
      let files = try CodeSet.load(strategies: strategies, plugins: plugins)
      let code = try StrategySettings.apply(raw, to: files)
      strategySettings.withLock { $0 = raw }
      requestReload(code)
    } catch {
      StandardError.line("config: \(error) (the previous strategy settings stay)")
    }
  }
}
