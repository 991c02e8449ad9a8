/// Interns symbol names to dense indices: O(1) lookup both ways.
///
/// Hand-written open addressing over the names' bits (``EventName``) with a multiply-xor hash: the
/// standard `Dictionary<String, _>` hashes with SipHash, which profiles showed as the largest
/// single cost of applying an event (every event names its symbol). Swift's collections have
/// no faster-hashing map; the table only ever grows, so it stays simple.
///
/// Written only by the cycle thread (the store's single writer); read by workers only while
/// no write happens (see ``MarketStore``).
public struct SymbolTable: Sendable {
  public let capacity: Int
  public private(set) var names: [String] = []
  /// The names as events carry them, compared when looking one up.
  private var keys: [EventName] = []
  /// Slots hold index + 1 (0 = empty); the table is kept at most half full.
  private var slots: [Int32]
  private var mask: Int

  public init(capacity: Int) {
    self.capacity = capacity
    names.reserveCapacity(min(capacity, 1 << 16))
    keys.reserveCapacity(min(capacity, 1 << 16))
    var size = 16
    while size < 2 * min(capacity, 1 << 16) { size <<= 1 }
    slots = Array(repeating: 0, count: size)
    mask = size - 1
  }

  public var count: Int { names.count }

  /// The slot holding `name`, or the empty slot where it would go.
  @inline(__always)
  private func find(_ name: EventName) -> (slot: Int, index: Int32?) {
    var i = name.bitsHash & mask
    while true {
      let v = slots[i]
      if v == 0 { return (i, nil) }
      if keys[Int(v - 1)] == name { return (i, v - 1) }
      i = (i + 1) & mask
    }
  }

  public func index(of name: String) -> Int32? { find(EventName(name)).index }

  public func name(at index: Int32) -> String { names[Int(index)] }

  /// The symbol's index, interning it if new; nil when the table is full.
  public mutating func intern(_ name: String) -> Int32? { intern(EventName(name)) }

  /// The symbol's index, interning it if new; nil when the table is full or the name is an
  /// ``EventName/isOverflow`` one.
  @inline(__always)
  public mutating func intern(_ name: EventName) -> Int32? {
    let (slot, found) = find(name)
    if let found { return found }
    guard names.count < capacity, !name.isOverflow else { return nil }
    let i = Int32(names.count)
    names.append(name.string)
    keys.append(name)
    slots[slot] = i + 1
    if names.count * 2 > slots.count { grow() }
    return i
  }

  private mutating func grow() {
    let size = slots.count * 2
    slots = Array(repeating: 0, count: size)
    mask = size - 1
    for (i, name) in keys.enumerated() {
      var s = name.bitsHash & mask
      while slots[s] != 0 { s = (s + 1) & mask }
      slots[s] = Int32(i + 1)
    }
  }
}
