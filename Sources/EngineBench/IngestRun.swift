import EngineSettings
import Feeds
import Foundation
import Support
import Tracking

/// Section `ingest`: parse and apply of Binance JSON from the simulator (tickers and klines,
/// raw and in combined-stream envelopes), against Foundation on the same bytes:
/// `JSONSerialization` (parse only) and `JSONDecoder` (typed decoding, as a Foundation-based
/// feed would do it).
extension Benchmark {
  func measureIngest() -> [String: Double] {
    var sim = MarketSimulator(
      SimulatorConfig(symbols: options.symbols, seed: 3, historyCandles: 2, startTime: Self.t0))
    var lines = sim.warmup()
    for _ in 0..<20 { lines += sim.nextStep() }
    let bytes = lines.reduce(0) { $0 + $1.utf8.count }
    let store = MarketStore(maxSymbols: max(4096, options.symbols), maxCandles: 500)
    let updates = UpdateBitSet(capacity: max(4096, options.symbols))
    var batcher = MessageBatcher(source: "bench")
    let began = MonotonicClock.seconds()
    var messages = 0
    for var line in lines {
      _ = line.withUTF8 { batcher.add(UnsafeRawBufferPointer($0)) }
      messages += 1
      if messages % 256 == 0 {
        for e in batcher.take().events {
          if case .success(.changed(let s)) = store.apply(e) { updates.mark(Int(s)) }
        }
      }
    }
    for e in batcher.take().events {
      if case .success(.changed(let s)) = store.apply(e) { updates.mark(Int(s)) }
    }
    let seconds = MonotonicClock.seconds() - began

    let foundationBegan = MonotonicClock.seconds()
    var parsed = 0
    for line in lines where (try? JSONSerialization.jsonObject(with: Data(line.utf8))) != nil {
      parsed += 1
    }
    let foundationSeconds = MonotonicClock.seconds() - foundationBegan

    let decoder = JSONDecoder()
    let decoderBegan = MonotonicClock.seconds()
    var decoded = 0
    func decode<T: Decodable>(_ type: T.Type, _ data: Data, enveloped: Bool) -> T? {
      enveloped
        ? (try? decoder.decode(FoundationEnvelope<T>.self, from: data))?.data
        : try? decoder.decode(T.self, from: data)
    }
    for line in lines {
      let data = Data(line.utf8)
      let enveloped = line.hasPrefix("{\"stream\"")
      if line.contains("\"kline\"") {
        if let k = decode(FoundationKlineEvent.self, data, enveloped: enveloped),
          k.k.numbers.allSatisfy({ $0 != nil })
        {
          decoded += 1
        }
      } else if let t = decode(FoundationTicker.self, data, enveloped: enveloped),
        t.numbers[0] != nil
      {
        decoded += 1
      }
    }
    let decoderSeconds = MonotonicClock.seconds() - decoderBegan

    let mbps = Double(bytes) / 1e6 / seconds
    let foundation = Double(bytes) / 1e6 / foundationSeconds
    let typed = Double(bytes) / 1e6 / decoderSeconds
    return [
      "mb_per_s": mbps, "messages_per_s": Double(messages) / seconds,
      "foundation_jsonserialization_mb_per_s": foundation, "ratio_to_foundation": mbps / foundation,
      "foundation_jsondecoder_mb_per_s": typed, "ratio_to_jsondecoder": mbps / typed,
      "jsondecoder_messages": Double(decoded),
      "bytes": Double(bytes), "messages": Double(parsed),
    ]
  }
}

/// The simulator's Binance messages as a `JSONDecoder` user would type them (the fields the
/// engine reads; numbers arrive as strings and are converted like the engine's parser does),
/// raw or in a combined-stream envelope.
struct FoundationEnvelope<T: Decodable>: Decodable {
  let stream: String
  let data: T
}

struct FoundationTicker: Decodable {
  let E: Int64
  let s: String
  let c, o, h, l, v, q: String
  let p, P, w, b, a: String?
  var numbers: [Double?] { [c, o, h, l, v, q, p, P, w, b, a].map { $0.flatMap(Double.init) } }
}

struct FoundationKlineEvent: Decodable {
  struct Kline: Decodable {
    let t: Int64
    let i: String
    let o, h, l, c, v: String
    let x: Bool
    var numbers: [Double?] { [o, h, l, c, v].map { Double($0) } }
  }
  let E: Int64
  let s: String
  let k: Kline
}
