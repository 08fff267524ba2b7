import Foundation
import Testing

/// Whole clusters under random faults, one seed each. A failing seed prints its trace and
/// replays exactly: `STAZ_SIM_SEED=<seed> swift test --filter Simulation`.
@Suite("Simulation")
struct SimulationTests {
    /// Seeds per CI run; `STAZ_SIM_SEEDS` raises it for a soak.
    static var seedCount: Int { ProcessInfo.processInfo.environment["STAZ_SIM_SEEDS"].flatMap(Int.init) ?? 2_000 }

    static func report(_ world: SimWorld, _ violations: [String]) -> String {
        "seed \(world.seed): \(violations.joined(separator: "; "))\n" + world.trace.suffix(80).joined(separator: "\n")
    }

    /// The seeds of one shard; `STAZ_SIM_SEED` runs that seed alone and prints its whole trace.
    static func seeds(shard: Int) -> [UInt64] {
        if let text = ProcessInfo.processInfo.environment["STAZ_SIM_SEED"], let seed = UInt64(text) {
            return shard == 0 ? [seed] : []
        }
        let count = seedCount / 8
        return (0..<count).map { UInt64(shard * count + $0) }
    }

    @Test("random faults never break an invariant", arguments: 0..<8)
    func randomFaults(shard: Int) {
        run(shard: shard, options: SimWorld.Options())
    }

    /// Synchronous mode's promise: a commit a client was told succeeded survives every failover.
    @Test("synchronous mode never loses an acknowledged commit",
          arguments: [("on", false), ("on", true), ("quorum", false), ("quorum", true)])
    func synchronousModes(mode: String, strict: Bool) {
        var options = SimWorld.Options()
        options.synchronousMode = mode
        options.synchronousModeStrict = strict
        for shard in 0..<2 { run(shard: shard, options: options) }
    }

    func run(shard: Int, options: SimWorld.Options) {
        let seeds = Self.seeds(shard: shard)
        var failures = 0
        var regressions = 0
        for seed in seeds {
            let world = SimWorld(seed: seed, options: options)
            let violations = world.run()
            regressions += world.timelineRegressions > 0 ? 1 : 0
            if seeds.count == 1 { print(world.trace.joined(separator: "\n")) }
            if !violations.isEmpty {
                failures += 1
                if failures <= 2 { Issue.record(Comment(rawValue: Self.report(world, violations))) }
            }
        }
        #expect(failures == 0, "\(failures) of \(seeds.count) seeds broke an invariant")
        print("simulation (synchronous_mode \(options.synchronousMode)\(options.synchronousModeStrict ? ", strict" : "")) "
              + "shard \(shard): \(seeds.count) seeds, \(failures) violations, "
              + "\(regressions) with an asynchronous failover behind the cluster timeline")
    }

    /// The invariants see a loop that stops waking up while its process lives on (what froze
    /// the demo's member): with that fault injected, seeds fail.
    @Test func aLostWakeupIsCaught() {
        var options = SimWorld.Options()
        options.lostWakeups = true
        let caught = (0..<50).filter { seed in
            SimWorld(seed: UInt64(seed), options: options).run().contains { $0.contains("no HA cycle") }
        }
        #expect(caught.count > 10, "only \(caught.count) of 50 seeds noticed a stalled loop")
    }

    @Test func aSeedReplaysExactly() {
        let first = SimWorld(seed: 42)
        first.run()
        let second = SimWorld(seed: 42)
        second.run()
        #expect(first.trace == second.trace)
        #expect(first.trace.count > 50)
    }
}
