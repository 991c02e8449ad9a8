import Testing

/// The server's features driven for real: the engine runs on the simulator with the services
/// attached; receivers, scrapes, a browser and control requests go through loopback sockets.
/// The tests, by topic, are in the EngineServerTests+*.swift files. Serialized: each runs an
/// engine with its timing expectations, which running them side by side would disturb.
@Suite("Engine server", .serialized)
struct EngineServerTests {}
