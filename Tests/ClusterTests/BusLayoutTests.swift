import Cluster
import Testing

@Suite struct BusLayoutTests {
  @Test func tokensRoundTrip() {
    for name in ["momentum", "my.strat", "a b*c>d", "=", "", "ünï", "BTCUSDT", "x_y-z"] {
      let t = BusLayout.token(name)
      #expect(!t.contains(".") && !t.contains("*") && !t.contains(">") && !t.contains(" "))
      #expect(BusLayout.name(ofToken: t) == name)
    }
  }
}
