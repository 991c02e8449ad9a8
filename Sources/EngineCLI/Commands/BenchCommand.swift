import EngineSettings
import ArgumentParser
import Engine
import EngineBench
import Foundation
import LuaKit
import Support

/// `engine bench`: the built-in benchmark.
struct BenchCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "bench",
    abstract:
      "Measure the engine on simulated data: per-strategy cost, tracking A/B, scaling, batch mode, ingest, latency, memory, result size.",
    discussion: """
      Every figure comes from runs made side by side in this one invocation (shared machines \
      are noisy: compare the ratios). --json prints one JSON object, documented in \
      docs/performance.md.
      """)

  // Shared option groups: the root command declares the same options, and the argument
  // parser hands a name to the root unless the subcommand declares it through the same group.
  @OptionGroup var common: CommonOptions
  @OptionGroup var feedOptions: FeedOptions

  @Option(help: "Cycles per measured run.")
  var cycles = 30

  @Option(help: "Repeats of each per-strategy measurement (the median is reported).")
  var repeats = 3

  @Flag(help: "Print one JSON object instead of tables.")
  var json = false

  @Option(
    help: ArgumentHelp(
      "Run only these sections (comma-separated): \(Benchmark.sections.joined(separator: ", ")).",
      valueName: "sections"))
  var only: String?

  var sections: Set<String> {
    Set((only ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
  }

  func validate() throws {
    guard cycles >= 2, repeats >= 1 else {
      throw ValidationError("--cycles must be >= 2, --repeats >= 1")
    }
    let unknown = sections.subtracting(Benchmark.sections)
    guard unknown.isEmpty else {
      throw ValidationError(
        "--only: unknown section \(unknown.sorted().joined(separator: ", ")) (sections: \(Benchmark.sections.joined(separator: ", ")))"
      )
    }
  }

  func run() throws {
    // Bench defaults: 2000 symbols (--symbols), and at least 2 workers for scaling.
    var overrides = common.overrides
    overrides["sim.symbols"] = feedOptions.symbols ?? "2000"
    overrides["max_symbols"] = overrides["max_symbols"] ?? "4096"
    let settings = try Session.settings(overrides: overrides, configPath: common.config)
    var options = Benchmark.Options()
    options.strategies = settings.strategies
    options.plugins = settings.plugins
    options.symbols = settings.simSymbols
    options.cycles = cycles
    options.repeats = repeats
    options.only = sections
    if settings.workers > 0 { options.workers = settings.workers }
    let results: Benchmark.Results
    do {
      results = try Benchmark(options).run { StandardError.line("bench: \($0)…") }
    } catch {
      throw EngineFailure(message: error.description, code: 2)
    }
    if json {
      let encoder = JSONEncoder()
      encoder.outputFormatting = [.sortedKeys]
      let data = try encoder.encode(results)
      print(String(decoding: data, as: UTF8.self))
      return
    }
    print(Self.table(results))
  }

  static func f(_ x: Double, _ digits: Int = 1) -> String {
    let scale = pow(10, Double(digits))
    return String((x * scale).rounded() / scale)
  }

  static func table(_ r: Benchmark.Results) -> String {
    var out = "engine bench: \(r.symbols) symbols, \(r.cycles) cycles per run\n"
    if let costs = r.strategies {
      out +=
        "\nper strategy (CPU ns per evaluation; 1 worker, 3 copies, every symbol changing every cycle; end to end; [built-in references]):\n"
      let labels = [
        "floor": "[floor: return false]", "ticker": "[ticker: 2 ticker fields]",
        "rsi": "[rsi: ta.rsi(k.close, 14)]",
      ]
      let rows =
        (r.referenceCosts ?? []).map { c in
          var c = c
          c.id = labels[c.id] ?? "[\(c.id)]"
          return c
        } + costs
      for c in rows {
        var line =
          "  \(c.id.padding(toLength: 28, withPad: " ", startingAt: 0)) \(f(c.nanosPerEval)) ns/eval"
        if let a = c.applyNanosPerEval, let e = c.evaluateNanosPerEval {
          line += "  (apply \(f(a)), evaluate \(f(e))"
          if let c = c.closeNanosPerEval { line += ", close \(f(c))" }
          line += ")"
        }
        out += line + "\n"
      }
    }
    if let b = r.baseline {
      out +=
        "  reference rows, same run: native \(f(b["native_ticker"] ?? 0)) / \(f(b["native_rsi"] ?? 0)) ns/eval, Lua with numbers as arguments \(f(b["lua_args_ticker"] ?? 0)) / \(f(b["lua_args_rsi"] ?? 0)) ns/eval (ticker / rsi)\n"
    }
    if let t = r.targetRatios {
      out +=
        "  engine over Lua-with-arguments: ticker x\(f(t["ticker_vs_lua_args"] ?? 0, 2)) of its row (target <= 2.0); rsi x\(f(t["rsi_vs_lua_args_ticker"] ?? 0, 2)) of the ticker row (target <= 2.69), x\(f(t["rsi_vs_lua_args"] ?? 0, 2)) of the RSI row\n"
    }
    if let p = r.profilerRatios {
      out +=
        "  per-strategy profile on over off: floor x\(f(p["floor"] ?? 0, 3)), ticker x\(f(p["ticker"] ?? 0, 3)), rsi x\(f(p["rsi"] ?? 0, 3))\n"
    }
    if let tracking = r.tracking {
      out += "\ntracking A/B (CPU per cycle, 1 worker):\n"
      for key in ["churn_10", "churn_100"] {
        if let t = tracking[key] {
          out +=
            "  \(key): changed \(f(t.changedCPUMilliseconds, 3)) ms, all \(f(t.allCPUMilliseconds, 3)) ms, ratio \(f(t.ratio, 3))\n"
        }
      }
    }
    out += "\n"
    if let sc = r.scaling {
      out +=
        "scaling: \(f(sc["evals_per_s_1"] ?? 0, 0)) evals/s with 1 worker, \(f(sc["evals_per_s_n"] ?? 0, 0)) with \(Int(sc["workers"] ?? 0)) (x\(f(sc["speedup"] ?? 0, 2)))\n"
    }
    if let b = r.batch {
      out +=
        "batch mode at 100% churn: batched \(f(b["batched_ms"] ?? 0, 3)) ms/cycle, single pass \(f(b["single_pass_ms"] ?? 0, 3)) ms/cycle\n"
    }
    if let i = r.ingest {
      out +=
        "ingest (parse + apply): \(f(i["mb_per_s"] ?? 0)) MB/s, \(f(i["messages_per_s"] ?? 0, 0)) messages/s; Foundation JSONDecoder \(f(i["foundation_jsondecoder_mb_per_s"] ?? 0)) MB/s (x\(f(i["ratio_to_jsondecoder"] ?? 0, 1))), JSONSerialization parse only \(f(i["foundation_jsonserialization_mb_per_s"] ?? 0)) MB/s (x\(f(i["ratio_to_foundation"] ?? 0, 1)))\n"
    }
    if let l = r.latencyMilliseconds {
      out +=
        "latency cycle close -> last diff written: p50 \(f(l["p50"] ?? 0, 3)) ms, p99 \(f(l["p99"] ?? 0, 3)) ms, max \(f(l["max"] ?? 0, 3)) ms\n"
    }
    if let m = r.memory {
      out +=
        "memory: update flags for 4096 symbols \(Int(m["flag_bytes_4096"] ?? 0)) bytes; Lua state \(f(m["lua_state_kb_per_worker"] ?? 0)) KB per worker (empty \(f(m["lua_state_empty_kb"] ?? 0)) KB, \(f(m["lua_state_kb_per_strategy"] ?? 0, 2)) KB per strategy; views \(f(m["lua_views_kb_per_symbol"] ?? 0, 2)) KB per symbol); one engine (store with the warm-up market, \(Int(m["workers"] ?? 0)) workers) \(f(m["engine_rss_mb"] ?? 0)) MB resident, process \(f(m["rss_mb"] ?? 0)) MB\n"
    }
    if let b = r.resultBytes {
      out +=
        "result size at 10% churn: diffs \(Int(b["diffs"] ?? 0)) bytes vs full match lists \(Int(b["full"] ?? 0)) bytes (ratio \(f(b["ratio"] ?? 0, 4)))\n"
    }
    return out
  }
}
