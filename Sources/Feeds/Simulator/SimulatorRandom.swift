// The simulator's randomness: xoshiro256** seeded through SplitMix64, written out here because
// the standard library has no seedable generator. With it, the simulator's output depends only
// on its configuration.

/// xoshiro256** seeded through SplitMix64.
struct SimRNG: Sendable {
  var s0: UInt64
  var s1: UInt64
  var s2: UInt64
  var s3: UInt64

  init(seed: UInt64) {
    var x = seed
    s0 = simSplitMix64(&x)
    s1 = simSplitMix64(&x)
    s2 = simSplitMix64(&x)
    s3 = simSplitMix64(&x)
    if s0 | s1 | s2 | s3 == 0 { s0 = 1 }
  }

  mutating func next() -> UInt64 {
    let result = simRotl(s1 &* 5, 7) &* 9
    let t = s1 << 17
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = simRotl(s3, 45)
    return result
  }

  /// Uniform in [0, 1).
  mutating func uniform() -> Double { Double(next() >> 11) * 0x1.0p-53 }

  mutating func range(_ a: Double, _ b: Double) -> Double { a + (b - a) * uniform() }

  /// Approximately standard normal (Irwin–Hall with 4 terms, unit variance, |x| < 3.47).
  mutating func gauss() -> Double {
    (uniform() + uniform() + uniform() + uniform() - 2) * 1.7320508075688772
  }
}

private func simRotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

/// One SplitMix64 step: advances `state` and returns the next output. Also a good 64-bit hash
/// of `state`, which is how the message formatting uses it.
func simSplitMix64(_ state: inout UInt64) -> UInt64 {
  state &+= 0x9E37_79B9_7F4A_7C15
  var z = state
  z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
  z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
  return z ^ (z >> 31)
}
