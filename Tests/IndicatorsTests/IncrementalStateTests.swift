import Indicators
import Testing

@Suite("Incremental EMA/RSI states")
struct IncrementalStateTests {
  static let data: [Double] = {
    let d = Fixtures.shared.datasets["EURUSD"]!.close
    return Array(d[..<600])
  }()

  @Test(
    "EMAState after N appends is bit-identical to TA.ema on N values", arguments: [1, 2, 9, 21, 50])
  func emaMatchesBatch(period: Int) throws {
    var s = try #require(EMAState(period: period))
    for n in 0...Self.data.count {
      let batch = Self.data[..<n].withUnsafeBufferPointer { TA.ema($0, period) }
      #expect(s.value == batch, "n=\(n)")
      if n < Self.data.count {
        let x = Self.data[n]
        let peek = s.value(appending: x)
        s.append(x)
        #expect(peek == s.value)
      }
    }
    #expect(s.count == Self.data.count)
  }

  @Test(
    "RSIState after N appends is bit-identical to TA.rsi on N values", arguments: [2, 7, 14, 50])
  func rsiMatchesBatch(period: Int) throws {
    var s = try #require(RSIState(period: period))
    for n in 0...Self.data.count {
      let batch = Self.data[..<n].withUnsafeBufferPointer { TA.rsi($0, period) }
      #expect(s.value == batch, "n=\(n)")
      if n < Self.data.count {
        let x = Self.data[n]
        let peek = s.value(appending: x)
        s.append(x)
        #expect(peek == s.value)
      }
    }
  }

  @Test("replacing the forming candle: value(appending:) leaves the state untouched")
  func replaceNewest() throws {
    let closed = Array(Self.data[..<400])
    let s = try closed.withUnsafeBufferPointer { try #require(RSIState(period: 14, series: $0)) }
    let e = try closed.withUnsafeBufferPointer { try #require(EMAState(period: 21, series: $0)) }
    for candidate in [1.05, 1.06, 1.0712345] {
      let full = closed + [candidate]
      #expect(s.value(appending: candidate) == full.withUnsafeBufferPointer { TA.rsi($0, 14) })
      #expect(e.value(appending: candidate) == full.withUnsafeBufferPointer { TA.ema($0, 21) })
    }
    #expect(s.count == 400 && e.count == 400)
  }

  @Test("invalid periods give no state")
  func invalidPeriods() {
    #expect(EMAState(period: 0) == nil)
    #expect(EMAState(period: 100_001) == nil)
    #expect(RSIState(period: 1) == nil)
    #expect(RSIState(period: -3) == nil)
  }
}
