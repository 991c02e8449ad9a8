/// A map from ``IndicatorKey`` to per-worker indicator state (cached results, incremental
/// EMA/RSI states), written by hand for the `ta` hot path.
///
/// Why not `Dictionary`: every `ta` call looks its key up once and often stores once; with
/// `Dictionary` that was two SipHash runs over a 40-byte key, separate key and value arrays
/// (two cache misses per lookup on a cold symbol), and a dynamic exclusivity check on the
/// runtime's property, together most of a cached `ta.rsi` call in profiles. Here: a
/// multiply-xor hash, open addressing with linear probing, key and value side by side in one
/// slot, and the mutable state behind a pointer (no exclusivity checks). No package offers a
/// map with a caller-chosen hash function. The table only grows (or is cleared whole).
final class IndicatorTable<Value> {
  struct Slot {
    var key: IndicatorKey
    var value: Value
  }

  private struct Storage {
    var slots: UnsafeMutablePointer<Slot?>
    var mask: Int
    var count: Int
  }
  private let storage: UnsafeMutablePointer<Storage>

  init(capacity: Int = 1024) {
    var size = 16
    while size < 2 * capacity { size <<= 1 }
    let slots = UnsafeMutablePointer<Slot?>.allocate(capacity: size)
    slots.initialize(repeating: nil, count: size)
    storage = .allocate(capacity: 1)
    storage.initialize(to: Storage(slots: slots, mask: size - 1, count: 0))
  }

  deinit {
    storage.pointee.slots.deinitialize(count: storage.pointee.mask + 1)
    storage.pointee.slots.deallocate()
    storage.deinitialize(count: 1)
    storage.deallocate()
  }

  var count: Int { storage.pointee.count }

  @inline(__always)
  static func hash(_ k: IndicatorKey) -> Int {
    var h = UInt64(UInt32(bitPattern: k.symbol))
    h |= UInt64(UInt16(bitPattern: k.interval)) << 32
    h |= UInt64(UInt8(bitPattern: k.column)) << 48
    h |= UInt64(k.function) << 56
    h = (h ^ (h >> 31)) &* 0x9E37_79B9_7F4A_7C15
    let params =
      UInt64(UInt32(bitPattern: k.a)) ^ (UInt64(UInt32(bitPattern: k.b)) << 21)
      ^ (UInt64(UInt32(bitPattern: k.c)) << 42) ^ k.d
    h = (h ^ params) &* 0xBF58_476D_1CE4_E5B9
    return Int(truncatingIfNeeded: h ^ (h >> 32))
  }

  /// The slot index holding `key`, or the empty slot where it would go.
  @inline(__always)
  private func find(_ key: IndicatorKey) -> (index: Int, found: Bool) {
    let slots = storage.pointee.slots
    let mask = storage.pointee.mask
    var i = Self.hash(key) & mask
    while true {
      guard let slot = slots[i] else { return (i, false) }
      if slot.key == key { return (i, true) }
      i = (i + 1) & mask
    }
  }

  /// The value stored for `key`.
  @inline(__always)
  subscript(key: IndicatorKey) -> Value? {
    let (i, found) = find(key)
    return found ? storage.pointee.slots[i]?.value : nil
  }

  /// Stores `value` for `key` (replacing any previous one).
  @inline(__always)
  func set(_ key: IndicatorKey, _ value: Value) {
    let (i, found) = find(key)
    storage.pointee.slots[i] = Slot(key: key, value: value)
    if !found {
      storage.pointee.count += 1
      if storage.pointee.count * 2 > storage.pointee.mask + 1 { grow() }
    }
  }

  /// Forgets every entry (keeps the capacity).
  func removeAll() {
    let size = storage.pointee.mask + 1
    storage.pointee.slots.update(repeating: nil, count: size)
    storage.pointee.count = 0
  }

  private func grow() {
    let old = storage.pointee.slots
    let oldSize = storage.pointee.mask + 1
    let size = oldSize * 2
    let slots = UnsafeMutablePointer<Slot?>.allocate(capacity: size)
    slots.initialize(repeating: nil, count: size)
    storage.pointee.slots = slots
    storage.pointee.mask = size - 1
    for j in 0..<oldSize {
      guard let slot = old[j] else { continue }
      var i = Self.hash(slot.key) & (size - 1)
      while slots[i] != nil { i = (i + 1) & (size - 1) }
      slots[i] = slot
    }
    old.deinitialize(count: oldSize)
    old.deallocate()
  }
}
