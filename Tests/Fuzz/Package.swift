// swift-tools-version: 6.2
import Foundation
import PackageDescription

// libFuzzer harnesses for the engine's two untrusted inputs: Binance wire messages and
// strategy source text. A package of its own so the main package's `swift build` and
// `swift test` never see it; `run.sh` builds it with `-sanitize=fuzzer,address`.

// A path dependency's identity is its directory's name (lowercased), whatever the checkout
// is called, not the package's name.
let main = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
  .appendingPathComponent("../..").standardized.lastPathComponent.lowercased()

let package = Package(
  name: "EngineFuzz",
  platforms: [.macOS(.v15)],
  dependencies: [.package(path: "../..")],
  targets: [
    .executableTarget(
      name: "FuzzParser",
      dependencies: [.product(name: "Feeds", package: main)]),
    .executableTarget(
      name: "FuzzStrategy",
      dependencies: [.product(name: "Engine", package: main)]),
  ],
  swiftLanguageModes: [.v6]
)
