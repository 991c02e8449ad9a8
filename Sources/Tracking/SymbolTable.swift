/// Interns symbol names to dense indices: O(1) lookup both ways.
///
/// Written only by the cycle thread (the store's single writer); read by workers only while
/// no write happens (see ``MarketStore``).
public struct SymbolTable: Sendable {
  public let capacity: Int
  private var indexByName: [String: Int32] = [:]
  public private(set) var names: [String] = []

  public init(capacity: Int) {
    self.capacity = capacity
    indexByName.reserveCapacity(min(capacity, 1 << 16))
    names.reserveCapacity(min(capacity, 1 << 16))
  }

  public var count: Int { names.count }

  public func index(of name: String) -> Int32? { indexByName[name] }

  public func name(at index: Int32) -> String { names[Int(index)] }

  /// The symbol's index, interning it if new; nil when the table is full.
  public mutating func intern(_ name: String) -> Int32? {
    if let i = indexByName[name] { return i }
    guard names.count < capacity else { return nil }
    let i = Int32(names.count)
    names.append(name)
    indexByName[name] = i
    return i
  }
}
