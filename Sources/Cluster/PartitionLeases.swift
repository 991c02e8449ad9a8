import Foundation
import NatsKit
import Support
import Synchronization

/// Ownership of partitions through the broker: a lease per partition is the last message on
/// `lease.<p>` in a stream that drops messages older than the lease time. Taking a lease is a
/// publish that expects no message on the subject; renewing one expects the holder's own last
/// sequence. The broker checks both atomically, so two processes can never both hold one: a
/// second copy of a shard sees the lease renewed (a new sequence, within a renewal interval)
/// and stops; a shard restarted after a crash sees no renewal and waits at most a lease time
/// for the dead one's lease to lapse.
///
/// The lease only decides who may start. What keeps a paused ex-owner from writing is the
/// fence on its results (each expects the previous result's sequence).
final class PartitionLeases: Sendable {
  let bus: Bus
  let partitions: [Int]
  /// This process, as written in its leases.
  let owner: String
  /// Each held partition's lease sequence.
  private let sequences = Mutex<[Int: UInt64]>([:])
  private let stop = StopFlag()

  init(bus: Bus, partitions: [Int], owner: String) {
    self.bus = bus
    self.partitions = partitions
    self.owner = owner
  }

  /// Takes every partition's lease, waiting for a lapsed holder's lease to expire. Throws when
  /// a live process keeps renewing one.
  func acquire() throws(BusFailure) {
    let ttl = bus.config.leaseSeconds
    let deadline = Date().addingTimeInterval(ttl * 2 + 1)
    var reported = false
    for p in partitions {
      var firstSeen: UInt64? = nil
      while true {
        if let seq = try take(p, expecting: 0) {
          sequences.withLock { $0[p] = seq }
          break
        }
        let lease = try currentLease(p)
        let holder = lease?.holder ?? "?"
        // A lease written again since it was first seen has a live holder: only a running
        // process renews. One never renewed lapses within the lease time.
        let renewed = lease.map { l in firstSeen.map { $0 != l.sequence } ?? false } ?? false
        if firstSeen == nil { firstSeen = lease?.sequence }
        if renewed || Date() >= deadline {
          throw BusFailure(
            "partition \(p) is held by another running process (\(holder)), which renews its lease: is a second copy of this shard running?"
          )
        }
        if !reported {
          bus.log(
            "bus: partition \(p) is leased to \(holder); waiting up to \(Int(ttl * 2 + 1)) s for the lease to lapse"
          )
          reported = true
        }
        Thread.sleep(forTimeInterval: 0.2)
      }
    }
  }

  /// Renews the leases on a thread of its own until ``stopRenewing()``; calls `lost` (then
  /// stops) when another process holds one of them.
  func startRenewing(lost: @escaping @Sendable (String) -> Void) {
    let interval = max(bus.config.leaseSeconds / 4, 0.05)
    let thread = Thread { [self] in
      while !stop.isRaised {
        Thread.sleep(forTimeInterval: interval)
        if stop.isRaised { return }
        for p in partitions {
          do {
            try renew(p)
          } catch {
            stop.raise()
            lost("\(error)")
            return
          }
        }
      }
    }
    thread.name = "engine-lease"
    thread.start()
  }

  func stopRenewing() { stop.raise() }

  private func renew(_ p: Int) throws(BusFailure) {
    guard let held = sequences.withLock({ $0[p] }) else { return }
    if let seq = try take(p, expecting: held) {
      sequences.withLock { $0[p] = seq }
      return
    }
    // Refused: the lease lapsed (e.g. while the broker restarted) or another process has it.
    let holder = try currentLease(p)?.holder
    if holder == nil, let seq = try take(p, expecting: 0) {
      sequences.withLock { $0[p] = seq }
      bus.log("bus: the lease of partition \(p) lapsed; taken again")
      return
    }
    throw BusFailure(
      "partition \(p) is now held by \(holder ?? "another process"): stopping this shard")
  }

  /// Publishes this owner's lease expecting `expecting` as the subject's last sequence; nil
  /// when the broker refuses it for that reason.
  private func take(_ p: Int, expecting: UInt64) throws(BusFailure) -> UInt64? {
    do {
      return try bus.retrying("leasing partition \(p)", stop: nil) { () throws(NatsError) in
        try bus.nats.publish(
          subject: BusLayout.leaseSubject(p), data: Array(owner.utf8),
          expectLastSubjectSequence: expecting
        ).sequence
      }
    } catch {
      if error.brokerCode == 10071 { return nil }
      throw error
    }
  }

  /// The current lease of partition `p`: who holds it and its message's sequence.
  private func currentLease(_ p: Int) throws(BusFailure) -> (holder: String, sequence: UInt64)? {
    let m = try bus.retrying("reading the lease of partition \(p)") { () throws(NatsError) in
      try bus.nats.lastMessage(stream: BusLayout.leaseStream, subject: BusLayout.leaseSubject(p))
    }
    return m.map { (String(decoding: $0.data, as: UTF8.self), $0.sequence) }
  }
}
