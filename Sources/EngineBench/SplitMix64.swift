/// SplitMix64: a small deterministic generator, so the synthetic market (and test data) depend
/// on the seed only.
///
/// The simulator in `Feeds` has its own generator (xoshiro256** seeded through SplitMix64), but
/// it is private to that module and yields a different sequence; this one keeps the bench's
/// market what it has been.
package struct SplitMix64 {
  package var state: UInt64

  package init(seed: UInt64) { state = seed }

  package mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}
