/// A map from ``IndicatorKey`` to per-worker indicator results (the cache of `ta` functions
/// other than the incremental EMA/RSI, whose states live in ``SmoothingTable``), written by
/// hand for the `ta` hot path.
///
/// Why not `Dictionary`: every `ta` call looks its key up once and often stores once; with
/// `Dictionary` that was two SipHash runs over a 40-byte key, separate key and value arrays
/// (two cache misses per lookup on a cold symbol), and a dynamic exclusivity check on the
/// runtime's property, together most of a cached `ta.rsi` call in profiles. Here: a
/// multiply-xor hash, open addressing with linear probing, key and value side by side in one
/// slot, occupancy in a separate byte array (hot in cache), and lookups that hand out a
/// pointer to the value, so a probe or an update never copies a slot (copying 140-byte
/// optional slots showed as `memmove` in profiles). The mutable state sits behind a pointer
/// (no exclusivity checks). No package offers a map with a caller-chosen hash function. The
/// table only grows (or is cleared whole). Values are plain bits (`BitwiseCopyable`), so
/// free slots need no initialisation and nothing needs deinitialising.
package final class IndicatorTable<Value: BitwiseCopyable> {
  package struct Slot {
    package var key: IndicatorKey
    package var value: Value
  }

  private struct Storage {
    package var slots: UnsafeMutablePointer<Slot>
    package var used: UnsafeMutablePointer<Bool>
    package var mask: Int
    package var count: Int
  }
  private let storage: UnsafeMutablePointer<Storage>
  /// Byte offset of `value` in a slot (for ``pointer(_:)``).
  private let valueOffset: Int

  package init(capacity: Int = 1024) {
    let alignment = MemoryLayout<Value>.alignment
    valueOffset =
      MemoryLayout<Slot>.offset(of: \Slot.value)
      ?? (MemoryLayout<IndicatorKey>.size + alignment - 1) / alignment * alignment
    var size = 16
    while size < 2 * capacity { size <<= 1 }
    storage = .allocate(capacity: 1)
    storage.initialize(to: Self.makeStorage(size))
  }

  private static func makeStorage(_ size: Int) -> Storage {
    let used = UnsafeMutablePointer<Bool>.allocate(capacity: size)
    used.initialize(repeating: false, count: size)
    return Storage(slots: .allocate(capacity: size), used: used, mask: size - 1, count: 0)
  }

  deinit {
    storage.pointee.slots.deallocate()
    storage.pointee.used.deallocate()
    storage.deinitialize(count: 1)
    storage.deallocate()
  }

  package var count: Int { storage.pointee.count }

  @inline(__always)
  package static func hash(_ k: IndicatorKey) -> Int {
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

  /// The slot index holding `key`, or the free slot where it would go.
  @inline(__always)
  private func find(_ key: IndicatorKey) -> (index: Int, found: Bool) {
    let slots = storage.pointee.slots
    let used = storage.pointee.used
    let mask = storage.pointee.mask
    var i = Self.hash(key) & mask
    while true {
      guard used[i] else { return (i, false) }
      if (slots + i).pointee.key == key { return (i, true) }
      i = (i + 1) & mask
    }
  }

  /// Where the value for `key` is stored, if any: valid until the next ``set(_:_:)`` or
  /// ``removeAll()``.
  @inline(__always)
  package func pointer(_ key: IndicatorKey) -> UnsafeMutablePointer<Value>? {
    let (i, found) = find(key)
    guard found else { return nil }
    return UnsafeMutableRawPointer(storage.pointee.slots + i).advanced(by: valueOffset)
      .assumingMemoryBound(to: Value.self)
  }

  /// The value stored for `key`.
  @inline(__always)
  package subscript(key: IndicatorKey) -> Value? {
    pointer(key)?.pointee
  }

  /// Stores `value` for `key` (replacing any previous one).
  @inline(__always)
  package func set(_ key: IndicatorKey, _ value: Value) {
    let (i, found) = find(key)
    (storage.pointee.slots + i).initialize(to: Slot(key: key, value: value))
    if !found {
      storage.pointee.used[i] = true
      storage.pointee.count += 1
      if storage.pointee.count * 2 > storage.pointee.mask + 1 { grow() }
    }
  }

  /// Forgets every entry (keeps the capacity).
  package func removeAll() {
    storage.pointee.used.update(repeating: false, count: storage.pointee.mask + 1)
    storage.pointee.count = 0
  }

  private func grow() {
    let old = storage.pointee
    let oldSize = old.mask + 1
    var new = Self.makeStorage(oldSize * 2)
    for j in 0..<oldSize where old.used[j] {
      var i = Self.hash(old.slots[j].key) & new.mask
      while new.used[i] { i = (i + 1) & new.mask }
      (new.slots + i).initialize(to: old.slots[j])
      new.used[i] = true
    }
    new.count = old.count
    storage.pointee = new
    old.slots.deallocate()
    old.used.deallocate()
  }
}
