import Foundation
import Testing

/// The engine reads a few of Lua's internal structures directly (lua_layout.h); with
/// `ENGINE_LUA_LAYOUT=api` it goes through the Lua API instead. Both must print the same
/// bytes: the shortcuts save time, never change a result.
@Suite("Lua layout shortcuts change no result", .serialized)
struct LayoutFallbackTests {
  @Test(
    "replay through the API only prints the same bytes",
    arguments: [("1", "changed"), ("2", "changed"), ("1", "all"), ("2", "all")])
  func sameBytes(workers: String, tracking: String) throws {
    let feed = EngineProcess.temporaryFile(EngineProcess.simulatedLines(symbols: 60, steps: 40))
    let args = [
      "replay", feed, "--strategies", "Strategies", "--workers", workers, "--tracking", tracking,
    ]
    let direct = try EngineProcess.run(args)
    let api = try EngineProcess.run(args, environment: ["ENGINE_LUA_LAYOUT": "api"])
    #expect(direct.status == 0 && api.status == 0, "\(direct.stderr)\n\(api.stderr)")
    #expect(direct.stdout.split(separator: "\n").count > 20)
    #expect(direct.stdout == api.stdout)
  }
}
