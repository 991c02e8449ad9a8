/// Interns symbol names to dense indices: O(1) lookup both ways.
///
/// Hand-written open addressing over the names' UTF-8 bytes with a multiply-xor hash: the
/// standard `Dictionary<String, _>` hashes with SipHash, which profiles showed as the largest
/// single cost of applying an event (every event names its symbol). Swift's collections have
/// no faster-hashing map; the table only ever grows, so it stays simple.
///
/// Written only by the cycle thread (the store's single writer); read by workers only while
/// no write happens (see ``MarketStore``).
public struct SymbolTable: Sendable {
  public let capacity: Int
  public private(set) var names: [String] = []
  /// Slots hold index + 1 (0 = empty); the table is kept at most half full.
  private var slots: [Int32]
  private var mask: Int

  public init(capacity: Int) {
    self.capacity = capacity
    names.reserveCapacity(min(capacity, 1 << 16))
    var size = 16
    while size < 2 * min(capacity, 1 << 16) { size <<= 1 }
    slots = Array(repeating: 0, count: size)
    mask = size - 1
  }

  public var count: Int { names.count }

  @inline(__always)
  static func hash(_ name: String) -> Int {
    var name = name
    return name.withUTF8 { bytes in
      var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(bytes.count)
      var i = 0
      while i + 8 <= bytes.count {
        // safe: i + 8 <= count
        let word = UnsafeRawPointer(bytes.baseAddress! + i).loadUnaligned(as: UInt64.self)
        h = (h ^ word) &* 0xBF58_476D_1CE4_E5B9
        h ^= h >> 29
        i += 8
      }
      var tail: UInt64 = 0
      var shift: UInt64 = 0
      while i < bytes.count {
        tail |= UInt64(bytes[i]) << shift
        shift += 8
        i += 1
      }
      h = (h ^ tail) &* 0x94D0_49BB_1331_11EB
      h ^= h >> 32
      return Int(truncatingIfNeeded: h)
    }
  }

  /// The slot holding `name`, or the empty slot where it would go.
  @inline(__always)
  private func find(_ name: String) -> (slot: Int, index: Int32?) {
    var i = Self.hash(name) & mask
    while true {
      let v = slots[i]
      if v == 0 { return (i, nil) }
      if names[Int(v - 1)] == name { return (i, v - 1) }
      i = (i + 1) & mask
    }
  }

  public func index(of name: String) -> Int32? { find(name).index }

  public func name(at index: Int32) -> String { names[Int(index)] }

  /// The symbol's index, interning it if new; nil when the table is full.
  @inline(__always)
  public mutating func intern(_ name: String) -> Int32? {
    let (slot, found) = find(name)
    if let found { return found }
    guard names.count < capacity else { return nil }
    let i = Int32(names.count)
    names.append(name)
    slots[slot] = i + 1
    if names.count * 2 > slots.count { grow() }
    return i
  }

  private mutating func grow() {
    let size = slots.count * 2
    slots = Array(repeating: 0, count: size)
    mask = size - 1
    for (i, name) in names.enumerated() {
      var s = Self.hash(name) & mask
      while slots[s] != 0 { s = (s + 1) & mask }
      slots[s] = Int32(i + 1)
    }
  }
}
