import CLua
import CLuaHost
import Testing

/// `string.find`, `match`, `gmatch` and `gsub` as the sandbox implements them (patterns.c)
/// against Lua 5.4's own: the same Lua text runs in a state with Lua's library and in one whose
/// `string` table holds ours, and every result (with its type) and every error message must be
/// byte for byte the same.

/// The generator of pattern cases: subjects, patterns, init arguments, replacements.
extension PatternDifferentialTests {
  /// SplitMix64: the generated cases depend on the seed only.
  struct SplitMix64 {
    var state: UInt64
    mutating func next() -> UInt64 {
      state &+= 0x9E37_79B9_7F4A_7C15
      var z = state
      z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
      z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
      return z ^ (z >> 31)
    }
    mutating func callAsFunction(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    mutating func pick<T>(_ xs: [T]) -> T { xs[self(xs.count)] }
  }

  // MARK: generation

  static let subjectBytes: [[UInt8]] =
    [
      "a", "b", "c", "(", ")", " ", "1", "2", ".", "%", "[", "]", "-", "x", "A", "_", "\n", "^",
      "$", "a", "a", "b",
    ].map { Array($0.utf8) } + [[0], [0x80], [0xFF]]

  static let items: [String] = [
    "a", "b", "c", ".", "x", "A", " ", "1", "(", ")", "%a", "%d", "%s", "%w", "%p", "%x", "%l",
    "%u", "%c", "%g", "%A", "%D", "%S", "%W", "%z", "%Z", "%.", "%%", "%(", "%)", "%]", "%[",
    "%-", "%q", "[abc]", "[^a]", "[a-c]", "[%a_]", "[]]", "[^]]", "[a-]", "[%]", "[%]]", "[^%s]",
    "[%d-z]", "[a%-c]", "[-a]", "[a-]]", "[%w%p]", "[.]", "_", "\n",
  ]
  static let rawItems: [[UInt8]] = [
    [0], [0x80], [0xFF], [0x5B, 0, 0x2D, 0x80, 0x5D], [0x5B, 0x5E, 0x80, 0x2D, 0xFF, 0x5D],
  ]
  static let specials: [String] = [
    "[", "]", "^", "$", "(", ")", "()", "*", "+", "-", "?", "%b()", "%bab", "%b", "%ba", "%b((",
    "%f[%w]", "%f[%W]", "%f[a]", "%f[^a]", "%f", "%f[", "%fa", "%f[%z]", "%1", "%2", "%3", "%0",
    "%9", "%", "[^", "[%", "%b)(",
  ]
  static let quantifiers = ["*", "+", "-", "?"]

  static func subject(_ r: inout SplitMix64) -> [UInt8] {
    let n = r(4) == 0 ? r(30) : r(12)
    let alphabet = min(3 + r(23), subjectBytes.count)
    var s: [UInt8] = []
    for _ in 0..<n { s += subjectBytes[r(alphabet)] }
    return s
  }

  /// A pattern of random items, specials and captures. At most `maxQuantifiers` repetition
  /// suffixes, so that stock Lua's backtracking stays small on these subjects.
  static func randomPattern(_ r: inout SplitMix64, maxQuantifiers: Int) -> [UInt8] {
    var p: [UInt8] = []
    var quantified = 0
    func quantify(_ r: inout SplitMix64) {
      if r(2) == 0 && quantified < maxQuantifiers {
        p += Array(r.pick(quantifiers).utf8)
        quantified += 1
      }
    }
    if r(6) == 0 { p += Array("^".utf8) }
    for _ in 0..<(r(5) == 0 ? r(12) : r(7)) {
      let c = r(10)
      if c < 6 {
        p += r(8) == 0 ? r.pick(rawItems) : Array(r.pick(items).utf8)
        quantify(&r)
      } else if c < 9 {
        p += Array(r.pick(specials).utf8)
      } else {
        p += Array("(".utf8)
        for _ in 0..<r(3) {
          p += Array(items[r(12)].utf8)
          quantify(&r)
        }
        if r(8) != 0 { p += Array(")".utf8) }
      }
    }
    if r(8) == 0 { p += Array("$".utf8) }
    return p
  }

  /// A pattern made from a stretch of the subject, so that it often matches: bytes kept
  /// (escaped), or turned into '.', a class or a set; some captures, back-references, %b, %f.
  static func friendlyPattern(_ r: inout SplitMix64, from s: [UInt8], maxQuantifiers: Int)
    -> [UInt8]
  {
    var p: [UInt8] = []
    let a = s.isEmpty ? 0 : r(s.count)
    let b = a + (s.isEmpty ? 0 : r(s.count - a + 1))
    var open = 0
    var closed = 0
    var quantified = 0
    let escaped = Set(Array("^$*+?.([%-])".utf8))
    let classes: [(String, (UInt8) -> Bool)] = [
      ("%a", { ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) }),
      ("%d", { $0 >= 48 && $0 <= 57 }),
      ("%s", { $0 == 32 || ($0 >= 9 && $0 <= 13) }),
      (
        "%p",
        {
          ($0 >= 33 && $0 <= 47) || ($0 >= 58 && $0 <= 64) || ($0 >= 91 && $0 <= 96)
            || ($0 >= 123 && $0 <= 126)
        }
      ),
      ("%c", { $0 < 32 || $0 == 127 }),
    ]
    func literal(_ c: UInt8) -> [UInt8] { escaped.contains(c) ? [37, c] : [c] }
    if r(5) == 0 { p += Array("^".utf8) }
    for i in a..<b {
      let c = s[i]
      if r(6) == 0 && open < 3 {
        if r(5) == 0 {
          p += Array("()".utf8)
        } else {
          p += Array("(".utf8)
          open += 1
        }
      }
      let k = r(10)
      if k < 4 {
        p += literal(c)
      } else if k < 6 {
        p += Array(".".utf8)
      } else if k < 8 {
        let fits = classes.filter { $0.1(c) }
        p += fits.isEmpty ? Array(".".utf8) : Array(r.pick(fits).0.utf8)
      } else if k < 9 {
        p += Array((r(3) == 0 ? "[^z" : "[").utf8) + literal(c)
        if r(2) == 0 { p += Array("a-c".utf8) }
        p += Array("]".utf8)
      } else {
        if closed > 0 && r(2) == 0 {
          p += [37, UInt8(49 + r(closed))]
        } else {
          p += Array((r(2) == 0 ? "%f[%w]" : "%b()").utf8)
        }
        continue
      }
      if r(3) == 0 && quantified < maxQuantifiers {
        p += Array(r.pick(quantifiers).utf8)
        quantified += 1
      }
      if open > 0 && r(4) == 0 {
        p += Array(")".utf8)
        open -= 1
        closed += 1
      }
    }
    while open > 0 {
      if r(6) != 0 { p += Array(")".utf8) }
      open -= 1
    }
    if r(6) == 0 { p += Array("$".utf8) }
    if r(10) == 0 { p += Array(r.pick(specials).utf8) }
    return p
  }

  static func initArg(_ r: inout SplitMix64) -> Arg {
    switch r(14) {
    case 0...3: return .none
    case 4: return .null
    case 5...8: return .int(Int64(r(30) - 15))
    case 9: return .int(r(2) == 0 ? Int64.max : Int64.min)
    case 10: return .float(Double(r(8) - 3))
    case 11: return .float(1.5)
    case 12: return .bytes(Array((r(2) == 0 ? "3" : "x").utf8))
    default: return .int(r(2) == 0 ? 100 : -100)
    }
  }

  static func template(_ r: inout SplitMix64) -> [UInt8] {
    let parts = ["x", "%0", "%1", "%2", "%%", "%", "%a", "%9", "<", ">", "%3", "-"]
    var t: [UInt8] = []
    for _ in 0..<r(5) { t += r(12) == 0 ? [0] : Array(r.pick(parts).utf8) }
    return t
  }

  /// A generated call of `fn`.
  static func generate(_ fn: String, _ r: inout SplitMix64) -> Case {
    var c = Case(fn: fn)
    c.style = r(3)
    var s: [UInt8] = []
    switch r(60) {
    case 0: c.args[0] = .int(123)
    case 1: c.args[0] = .null
    default:
      s = subject(&r)
      c.args[0] = .bytes(s)
    }
    // Fewer repetition suffixes on longer subjects: stock Lua cannot be stopped.
    let maxQ = s.count > 12 ? 2 : 4
    switch r(80) {
    case 0: c.args[1] = .int(2)
    case 1: c.args[1] = .float(2.0)
    default:
      c.args[1] = .bytes(
        r(2) == 0
          ? friendlyPattern(&r, from: s, maxQuantifiers: maxQ)
          : randomPattern(&r, maxQuantifiers: maxQ))
    }
    if fn != "gsub" {
      c.args[2] = initArg(&r)
      if fn == "find" {
        switch r(8) {
        case 0: c.args[3] = .bool(true)
        case 1: c.args[3] = .bool(false)
        case 2: c.args[3] = .null
        case 3: c.args[3] = .int(0)
        case 4: c.args[3] = .bytes(Array("x".utf8))
        default: break
        }
      }
    } else {
      switch r(12) {
      case 0...3: c.args[2] = .bytes(template(&r))
      case 4: c.args[2] = .int(7)
      case 5: c.args[2] = .float(1.5)
      case 6: c.replacement = -1
      case 7, 8: c.replacement = 1 + r(12)
      case 9: c.args[2] = .null
      case 10: break
      default: c.args[2] = .bool(true)
      }
      switch r(10) {
      case 0: c.args[3] = .int(Int64(r(5) - 1))
      case 1: c.args[3] = .null
      case 2: c.args[3] = .float(r(2) == 0 ? 1.5 : 2.0)
      case 3: c.args[3] = .bytes(Array((r(2) == 0 ? "2" : "x").utf8))
      case 4: c.args[3] = .int(r(2) == 0 ? Int64.max : Int64.min)
      default: break
      }
    }
    if case .none = c.args[2], c.replacement != 0 { c.args[2] = .null }
    var n = 4
    while n > 0, case .none = c.args[n - 1], !(n == 3 && c.replacement != 0) { n -= 1 }
    for i in 0..<n { if case .none = c.args[i] { c.args[i] = .null } }
    if r(10) == 0 && n > 0 { n = r(n + 1) }
    c.nargs = n
    if c.style == 2 {
      if n < 1 { c.style = 1 } else if case .bytes = c.args[0] {} else { c.style = 1 }
    }
    return c
  }

  /// Patterns that nest the stock matcher close to its limit of 200 activations (on these
  /// subjects each unit adds one level: a '?' whose item matched, a '*' or '-'; each capture
  /// open and close adds one more), on subjects where the first path either succeeds or
  /// reaches the limit, so that nothing backtracks for long.
  static func deepCases() -> [Case] {
    var cases: [Case] = []
    let units = ["a?", "a*", "a-", ".-", "[a]?", "a?b?", "%a-"]
    for fn in ["find", "match", "gmatch", "gsub"] {
      for unit in units {
        for target in [197, 198, 199, 200, 201, 202] {
          for captures in [0, 3] {
            let k = target - 3 * captures
            var p = String(repeating: "(", count: captures) + String(repeating: unit, count: k)
            p += String(repeating: ")", count: captures)
            for length in [k, k - 5] {
              var c = Case(fn: fn)
              c.args[0] = .bytes(Array(String(repeating: "a", count: max(length, 0)).utf8))
              c.args[1] = .bytes(Array(p.utf8))
              c.nargs = 2
              if fn == "gsub" {
                c.args[2] = .bytes(Array("<%0>".utf8))
                c.nargs = 3
              }
              cases.append(c)
            }
          }
        }
      }
    }
    return cases
  }

  static func compare(_ cases: [Case]) -> Int {
    let stock = Runner(ours: false)
    let ours = Runner(ours: true)
    var failures = 0
    for c in cases {
      let a = stock.run(c)
      let b = ours.run(c)
      if a != b {
        failures += 1
        if failures <= 5 {
          Issue.record(
            """
            \(c)
              Lua:  \(String(decoding: a, as: UTF8.self))
              ours: \(String(decoding: b, as: UTF8.self))
            """)
        }
      }
    }
    return failures
  }
}
