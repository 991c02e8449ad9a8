/// An error raised by Lua, converted once at the boundary.
///
/// `message` is Lua's message, which usually starts with `file:line:` (chunk names are
/// `@path`, so Lua prefixes the path); ``file`` and ``line`` are parsed from it when present.
public struct LuaError: Error, Sendable, Equatable, CustomStringConvertible {
  public var message: String
  public var file: String?
  public var line: Int?

  public init(message: String) {
    self.message = message
    (file, line) = Self.location(in: message)
  }

  public var description: String { message }

  /// Lua shortens long chunk names to `...` plus their end (LUA_IDSIZE). Puts back the full
  /// path from `paths` whose end matches, so users see the real `file:line`.
  public static func restoringPaths(in message: String, from paths: [String]) -> String {
    guard message.hasPrefix("...") else { return message }
    let rest = message.dropFirst(3)
    let (file, _) = location(in: String(rest))
    guard let file, let full = paths.first(where: { $0.hasSuffix(file) }) else { return message }
    return full + rest.dropFirst(file.count)
  }

  /// `("Strategies/foo.lua", 12)` from `Strategies/foo.lua:12: attempt to ...`.
  static func location(in message: String) -> (String?, Int?) {
    var rest = Substring(message)
    while let colon = rest.firstIndex(of: ":") {
      let afterColon = rest.index(after: colon)
      let digits = rest[afterColon...].prefix(while: { $0.isASCII && $0.isNumber })
      if !digits.isEmpty, rest[digits.endIndex...].first == ":", let line = Int(digits) {
        let file = String(message[message.startIndex..<colon])
        return (file.isEmpty ? nil : file, line)
      }
      rest = rest[afterColon...]
    }
    return (nil, nil)
  }
}
