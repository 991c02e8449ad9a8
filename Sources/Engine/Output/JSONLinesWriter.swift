import Support
import Evaluation
#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// One JSON object per line (the diff format),
/// `{"cycle":…,"time":…,"strategy":…,"symbol":…,"event":…,"price":…,"info":…}`.
public final class JSONLinesWriter: DiffSink {
  private let fd: Int32
  private var buffer: [UInt8] = []

  public init(fd: Int32 = 1) { self.fd = fd }

  public func write(cycle: Int64, time: Int64, diffs: [ResolvedDiff]) {
    guard !diffs.isEmpty else { return }
    buffer.removeAll(keepingCapacity: true)
    Self.append(diffs, cycle: cycle, time: time, to: &buffer)
    writeAll(fd, buffer)
  }

  /// Appends the lines of one cycle's diffs to `out`. The part every line of the cycle
  /// shares (`{"cycle":…,"time":…,"strategy":`) is formatted once, not per line.
  public static func append(
    _ diffs: [ResolvedDiff], cycle: Int64, time: Int64, to out: inout [UInt8]
  ) {
    guard !diffs.isEmpty else { return }
    var prefix: [UInt8] = []
    prefix.reserveCapacity(64)
    Self.appendPrefix(cycle: cycle, time: time, to: &prefix)
    out.reserveCapacity(out.count + diffs.count * (prefix.count + 96))
    for d in diffs {
      out.append(contentsOf: prefix)
      Self.appendRest(d, to: &out)
    }
  }

  /// Appends one diff line (with its newline) to `out`.
  public static func append(_ d: ResolvedDiff, cycle: Int64, time: Int64, to out: inout [UInt8]) {
    Self.appendPrefix(cycle: cycle, time: time, to: &out)
    Self.appendRest(d, to: &out)
  }

  private static func appendPrefix(cycle: Int64, time: Int64, to out: inout [UInt8]) {
    JSONText.append("{\"cycle\":", to: &out)
    JSONText.appendInteger(cycle, to: &out)
    JSONText.append(",\"time\":", to: &out)
    JSONText.appendInteger(time, to: &out)
    JSONText.append(",\"strategy\":", to: &out)
  }

  /// A line after its prefix: strategy, symbol, event, price, info.
  private static func appendRest(_ d: ResolvedDiff, to out: inout [UInt8]) {
    JSONText.appendString(d.strategy, to: &out)
    JSONText.append(",\"symbol\":", to: &out)
    JSONText.appendString(d.symbol, to: &out)
    if d.isEnter {
      JSONText.append(",\"event\":\"enter\",\"price\":", to: &out)
    } else {
      JSONText.append(",\"event\":\"exit\",\"price\":", to: &out)
    }
    JSONText.appendNumber(d.price, to: &out)
    if d.isEnter, let info = d.info {
      JSONText.append(",\"info\":", to: &out)
      JSONText.appendInfo(info, to: &out)
    }
    JSONText.append("}\n", to: &out)
  }
}
