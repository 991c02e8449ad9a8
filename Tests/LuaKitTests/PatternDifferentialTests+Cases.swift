import CLua
import CLuaHost
import Testing

/// `string.find`, `match`, `gmatch` and `gsub` as the sandbox implements them (patterns.c)
/// against Lua 5.4's own: the same Lua text runs in a state with Lua's library and in one whose
/// `string` table holds ours, and every result (with its type) and every error message must be
/// byte for byte the same.

/// Hand-written cases: each feature and each error message of the pattern functions.
extension PatternDifferentialTests {
  /// Hand-written calls, one feature each; `expect`, when given, must occur in Lua's own
  /// output (so that each message the pattern functions can raise is covered).
  static let handWritten: [(String, String?)] = [
    // anchors
    (#"string.find("hello", "^h")"#, nil), (#"string.find("hello", "^e")"#, "2[true,nil]"),
    (#"string.find("hello", "o$")"#, nil), (#"string.find("hel$lo", "l$l")"#, nil),
    (#"string.match("a$", "a$")"#, nil), (#"string.find("a^b", "a^b")"#, nil),
    (#"string.gsub("hello", "^h", "H")"#, nil), (#"string.gsub("aaa", "^a", "b")"#, nil),
    (#"string.gsub("aaa", "^", "x")"#, nil), (#"string.gsub("aaa", "$", "x")"#, nil),
    (#"ALL(string.gmatch("^a^a", "^a"))"#, nil), (#"string.find("abc", "^", 2)"#, nil),
    (#"string.match("abc", "^(.)", -1)"#, nil), (#"string.find("", "^$")"#, nil),
    (#"string.find("abc", "^b", 2)"#, nil), (#"string.match("\n", "^$")"#, nil),
    // %b
    (#"string.match("x(a(b)c)y", "%b()")"#, #"s"(a(b)c)""#), (#"string.match("((", "%b()")"#, nil),
    (#"string.find("[[]]", "%b[]")"#, nil), (#"string.gsub("f(a)(b)", "%b()", "X")"#, nil),
    (#"string.match("xaxbx", "%bxx")"#, nil),
    (#"string.match("abc", "%b")"#, "missing arguments to '%b'"),
    (#"string.match("abc", "%ba")"#, "malformed pattern (missing arguments to '%b')"),
    (#"string.match("((a)", "%b()")"#, nil), (#"string.match("a(b", "%b()")"#, nil),
    // %f
    (#"string.gsub("THE (quick) fox", "%f[%a]%a+", "W")"#, nil),
    (#"string.find("hello", "%f[%l]")"#, nil),
    (#"string.find("abc", "%f[%z]")"#, nil), (#"string.find("ab1", "%f[%d]")"#, nil),
    (#"string.gsub("the cat", "%f[%w]%w+%f[%W]", "<%0>")"#, nil),
    (#"string.match("abc", "%f")"#, "missing '[' after '%f' in pattern"),
    (#"string.match("abc", "%fa")"#, "missing '[' after '%f' in pattern"),
    (#"string.match("abc", "%f[a")"#, "malformed pattern (missing ']')"),
    // back-references
    (#"string.match('say "hi" now', "([\"'])(.-)%1")"#, nil),
    (#"string.find("abab", "(ab)%1")"#, nil),
    (#"string.match("aa", "%0")"#, "invalid capture index %0"),
    (#"string.match("aa", "(a)%2")"#, "invalid capture index %2"),
    (#"string.match("a", "(a%1)")"#, "invalid capture index %1"),
    (#"string.match("xx", "()%1")"#, nil),
    (#"string.find("abcabc", "(a(b)c)%1%2")"#, nil), (#"string.match("aAa", "(a)%1")"#, nil),
    // position captures
    (#"string.find("hello", "()ll()")"#, nil), (#"string.match("hello", "()")"#, nil),
    (#"string.gsub("abc", "()", "%1")"#, nil), (#"string.gsub("abc", "()b", {[2] = "X"})"#, nil),
    (#"ALL(string.gmatch("abc", "()"))"#, nil), (#"string.match("abc", "()(b)()", 2)"#, nil),
    (#"string.gsub("abc", "()(.)", function(p, c) return p .. c end)"#, nil),
    // empty matches in gmatch and gsub
    (#"string.gsub("abc", "", "-")"#, nil), (#"string.gsub("abc", "x*", "-")"#, nil),
    (#"string.gsub("hello world", "%w*", "<%0>")"#, nil),
    (#"ALL(string.gmatch("abc", "x*"))"#, nil),
    (#"ALL(string.gmatch("a,b,,c", "([^,]*)"))"#, nil), (#"ALL(string.gmatch("abc", "a*"))"#, nil),
    (#"string.gsub("", "", "x")"#, nil), (#"string.gsub("abc", ".-", "-")"#, nil),
    // gmatch's init
    (#"ALL(string.gmatch("abcabc", "b", 3))"#, nil), (#"ALL(string.gmatch("abc", ".", -1))"#, nil),
    (#"ALL(string.gmatch("abc", ".", 10))"#, nil), (#"ALL(string.gmatch("abc", "()", 4))"#, nil),
    (#"ALL(string.gmatch("abc", "()", 5))"#, nil), (#"ALL(string.gmatch("abc", ".", 0))"#, nil),
    (#"ALL(string.gmatch("abc", ".", -100))"#, nil),
    (#"string.gmatch("abc", ".", "x")"#, "bad argument #3 to 'gmatch'"),
    // init of find and match
    (#"string.find("abc", "b", -1)"#, nil), (#"string.find("abc", "b", -2)"#, nil),
    (#"string.find("abc", "b", 0)"#, nil),
    (#"string.find("abc", "", 4)"#, "3[true,integer:4,integer:3]"),
    (#"string.find("abc", "", 5)"#, "2[true,nil]"), (#"string.find("abc", "b", -100)"#, nil),
    (#"string.find("abc", "b", math.mininteger)"#, nil),
    (#"string.find("abc", "b", math.maxinteger)"#, nil),
    (#"string.match("abc", ".", 1.0)"#, nil), (#"string.find("abc", "b", "2")"#, nil),
    (#"string.find("abc", "b", 1.5)"#, "number has no integer representation"),
    (#"string.find("abc", "b", "x")"#, "bad argument #3 to 'find' (number expected, got string)"),
    (#"string.match("abc", "()", 4)"#, nil), (#"string.match("abc", "()", 5)"#, nil),
    (#"string.find("abc", "[a-c]+", -2)"#, nil),
    // plain search and the no-specials path
    (#"string.find("a.b", ".", 1, true)"#, nil), (#"string.find("a+b", "+", 1, true)"#, nil),
    (#"string.find("a+b", "+")"#, nil), (#"string.find("a)b", ")")"#, nil),
    (#"string.match("a)b", ")")"#, "invalid pattern capture"),
    (#"string.find("abc", "", 2, true)"#, nil),
    (#"string.find("a%b", "%", 1, true)"#, nil), (#"string.find("abc", "%", 1, true)"#, nil),
    (#"string.find("abcabc", "ca", 1, 1)"#, nil), (#"string.find("aaab", "aab")"#, nil),
    (#"string.find("abc", "abcd")"#, nil), (#"string.find("a]b", "]")"#, nil),
    (#"string.find("abc", "b", 1, false)"#, nil), (#"string.find("ab\0c", "b\0c")"#, nil),
    // gsub replacements
    (#"string.gsub("hello world", "(o)", "[%1%%]")"#, nil),
    (#"string.gsub("abc", "b", "%2")"#, "invalid capture index %2"),
    (#"string.gsub("abc", "(b)", "%2")"#, "invalid capture index %2"),
    (#"string.gsub("abc", "b", "%x")"#, "invalid use of '%' in replacement string"),
    (#"string.gsub("abc", "b", "%")"#, "invalid use of '%' in replacement string"),
    (#"string.gsub("abc", "b", "%1")"#, nil), (#"string.gsub("abc", "b", "%0%0")"#, nil),
    (#"string.gsub("abc", "b", 5)"#, nil), (#"string.gsub("abc", "b", 1.5)"#, nil),
    (#"string.gsub("abc", "(b)", {b = "B"})"#, nil),
    (#"string.gsub("abc", "(b)", {b = false})"#, nil),
    (#"string.gsub("abc", "(b)", {b = 1})"#, nil), (#"string.gsub("abc", "(b)", {b = 2.5})"#, nil),
    (#"string.gsub("abc", "(b)", {b = {}})"#, "invalid replacement value (a table)"),
    (
      #"string.gsub("abc", "b", function() return true end)"#,
      "invalid replacement value (a boolean)"
    ),
    (
      #"string.gsub("abc", "%w", function(c) if c == "b" then return nil end return c:upper() end)"#,
      nil
    ),
    (#"string.gsub("abc", "%w", function() return false end)"#, nil),
    (#"string.gsub("abc", "%w", function(c) return #c end)"#, nil),
    (##"string.gsub("abc", "(a)(b)(c)", function(...) return select("#", ...) end)"##, nil),
    (#"string.gsub("abc", "b", function() error("boom") end)"#, "boom"),
    (#"string.gsub("abc", "(b", "%1")"#, "unfinished capture"),
    (#"string.gsub("abc", "(b", "x")"#, nil),
    (#"string.gsub("abc", "(b", {})"#, "unfinished capture"),
    (
      #"string.gsub("abc", "b", setmetatable({}, {__index = function(_, k) return k .. k end}))"#,
      nil
    ),
    // gsub's limit
    (#"string.gsub("aaa", "a", "b", 2)"#, nil), (#"string.gsub("aaa", "a", "b", 0)"#, nil),
    (#"string.gsub("aaa", "a", "b", -1)"#, nil), (#"string.gsub("aaa", "a", "b", 2.0)"#, nil),
    (#"string.gsub("aaa", "a", "b", "2")"#, nil), (#"string.gsub("aaa", "a", "b", nil)"#, nil),
    (
      #"string.gsub("aaa", "a", "b", 1.5)"#,
      "bad argument #4 to 'gsub' (number has no integer representation)"
    ),
    (
      #"string.gsub("aaa", "a", nil, "x")"#,
      "bad argument #4 to 'gsub' (number expected, got string)"
    ),
    (
      #"string.gsub("aaa", "a", true)"#,
      "bad argument #3 to 'gsub' (string/function/table expected, got boolean)"
    ),
    (
      #"string.gsub("aaa", "a")"#,
      "bad argument #3 to 'gsub' (string/function/table expected, got no value)"
    ),
    (#"("aaa"):gsub("a", true)"#, "bad argument #2 to 'gsub'"),
    // pattern errors
    (#"string.find("abc", "%")"#, "malformed pattern (ends with '%')"),
    (#"string.find("a", "[a")"#, "malformed pattern (missing ']')"),
    (#"string.find("b", "a[")"#, "2[true,nil]"),  // never reached: no error
    (#"string.find("a", "[]")"#, "malformed pattern (missing ']')"),
    (#"string.find("a", "[^]")"#, "malformed pattern (missing ']')"),
    (#"string.find("a", "[a%")"#, "malformed pattern (missing ']')"),
    (#"string.match("a", "a)")"#, "invalid pattern capture"),
    (#"string.match("a", "(a")"#, "unfinished capture"),
    (#"string.find("a", "(a")"#, "unfinished capture"),
    (#"string.match(("a"):rep(40), ("(a)"):rep(33))"#, "too many captures"),
    (#"string.match(("a"):rep(40), ("(a)"):rep(32))"#, nil),
    (#"string.match(("a"):rep(300), ("a?"):rep(300))"#, "pattern too complex"),
    (#"string.match(("a"):rep(199), ("a?"):rep(199))"#, nil),
    (#"string.match("a", ("a-"):rep(250))"#, "pattern too complex"),
    (#"string.match("", ("a-"):rep(250))"#, nil),
    // argument errors
    (#"string.find(nil, "a")"#, "bad argument #1 to 'find' (string expected, got nil)"),
    (#"string.find("a")"#, "bad argument #2 to 'find' (string expected, got no value)"),
    (#"string.match({}, "a")"#, "bad argument #1 to 'match' (string expected, got table)"),
    (#"string.gmatch("a", {})"#, "bad argument #2 to 'gmatch' (string expected, got table)"),
    (#"string.gsub("a", "a", "b", {})"#, "bad argument #4 to 'gsub' (number expected, got table)"),
    (#"("a"):find({})"#, "bad argument #1 to 'find'"),
    (#"select(2, pcall(string.find))"#, "string.find"),
    // numbers as strings
    (#"string.find(12345, 3)"#, nil), (#"string.match(3.5, "%d")"#, nil),
    (#"string.gsub(100, 0, 1)"#, nil),
    (#"ALL(string.gmatch(123, "%d"))"#, nil), (#"string.gsub("abc", "b", 2^53)"#, nil),
    (#"string.gsub(1e100, "%d", "")"#, nil), (#"string.gsub("x", "x", -0.0)"#, nil),
    // bytes 0 and >= 0x80
    (#"string.find("a\0b", "\0")"#, nil), (#"string.match("a\0b", "%z")"#, nil),
    (#"string.match("a\0b", "[\0]")"#, nil), (#"string.find("a\0b", "a\0", 1, true)"#, nil),
    (#"string.find("a\0b", ".\0b")"#, nil), (#"string.match("\200\255", "[\128-\255]+")"#, nil),
    (#"string.match("a\0b", "%Z+")"#, nil), (#"string.gsub("a\0b\0", "%z", "0")"#, nil),
    (#"string.match("x%\0", "%%%z")"#, nil), (#"string.match("\0", "%\0")"#, nil),
    // sets
    (#"string.match("a]b", "[]]")"#, nil), (#"string.match("]]a", "[^]]")"#, nil),
    (#"string.match("-a", "[a-]+")"#, nil), (#"string.match("-a", "[-a]+")"#, nil),
    (#"string.match("b-", "[%-a]")"#, nil), (#"string.match("%]", "[%]]+")"#, nil),
    (#"string.match("^x", "[x^]+")"#, nil), (#"string.match("^x", "[^^]")"#, nil),
    (#"string.match("abc-", "[a-]]")"#, nil), (#"string.match("c", "[a-c-e]")"#, nil),
    (#"string.match("d", "[a-c-e]")"#, nil), (#"string.match("-", "[a-c-e]")"#, nil),
    (#"string.match("x1_", "[%w_]+")"#, nil), (#"string.match("x1_ ", "[^%s]+")"#, nil),
    // quantifier order: greedy longest first, lazy shortest first, '?' with and without
    (#"string.match("aaab", "(a*)(a*)b")"#, nil), (#"string.match("aaab", "(a-)(a*)b")"#, nil),
    (#"string.match("aaa", "(a+)(a+)")"#, nil), (#"string.match("ab", "(a?)(a?b)")"#, nil),
    (#"string.match("<a><b>", "<(.-)>")"#, nil), (#"string.match("<a><b>", "<(.*)>")"#, nil),
    (#"string.find("key = value", "(%w+)%s*=%s*(%w+)")"#, nil), (#"string.match("**", "**")"#, nil),
    (#"string.match("a", "a**")"#, nil), (#"string.match("++", "+")"#, nil),
    // the gmatch iterator's depth counter across errors, as in Lua 5.4.4
    (
      #"(function() local it = string.gmatch(("a"):rep(250), ("a?"):rep(250)) return ALL(it) end)()"#,
      "pattern too complex"
    ),
    (
      #"(function() local it = string.gmatch(("a"):rep(150), ("a?"):rep(150) .. "%9") return ALL(it) end)()"#,
      "pattern too complex"
    ),
    (#"(function() local it = string.gmatch("aaa", "a(%2)") return ALL(it) end)()"#, nil),
    (
      #"(function() local it = string.gmatch(("a"):rep(600), ("a?"):rep(600)) return ALL(it) end)()"#,
      nil
    ),
    (#"(function() local it = string.gmatch("abc", ".") it() return ALL(it) end)()"#, nil),
  ]
}
