import ArgumentParser

/// `engine [--strategies DIR] [--feed sim|replay:FILE|binance]`: the live engine's options,
/// which the root command runs with.
struct LiveOptions: ParsableArguments {
  @OptionGroup var common: CommonOptions
  @OptionGroup var feedOptions: FeedOptions

  func run() throws {
    var overrides = common.overrides
    feedOptions.add(to: &overrides)
    let settings = try Session.settings(overrides: overrides, configPath: common.config)
    try Session.run(
      settings: settings, live: true, summary: settings.feed.hasPrefix("replay:"),
      overrides: overrides, configPath: common.config)
  }
}
