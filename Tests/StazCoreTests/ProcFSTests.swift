import Foundation
import Testing
import StazSystem

/// /proc and state files through plain system calls (the fencing guard links no Foundation).
struct ProcFSTests {
    @Test func ownProcessIsListedWithItsCommandLineAndDirectory() throws {
        #expect(ProcFS.allPIDs().contains(getpid()))
        #expect(ProcFS.commandLine(of: getpid()) == CommandLine.arguments.filter { !$0.isEmpty })
        #expect(ProcFS.workingDirectory(of: getpid()) == FileManager.default.currentDirectoryPath)
        let executable = try #require(ProcFS.linkTarget("/proc/self/exe"))
        #expect(executable == Bundle.main.executablePath.map { URL(fileURLWithPath: $0).resolvingSymlinksInPath().path })
        #expect(ProcFS.linkTarget("/no/such/link") == nil)
        #expect(ProcFS.commandLine(of: -1) == nil)
    }

    @Test func statNamesTheParentAndChildrenAreFoundByIt() throws {
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/bin/sleep")
        child.arguments = ["5"]
        try child.run()
        defer { child.terminate(); child.waitUntilExit() }
        let pid = child.processIdentifier
        let stat = try #require(ProcFS.stat(of: pid))
        #expect(stat.parentPID == getpid())
        #expect(!stat.hasExited)
        #expect(ProcFS.children(of: getpid()).contains(pid))
        #expect(ProcFS.commandName(of: pid)?.hasPrefix("sleep") == true)
        #expect(!ProcFS.looksLikePostgres(pid))
        #expect(!ProcFS.postgresProcesses().contains(pid))
        #expect(ProcFS.stat(of: -1) == nil)
    }

    @Test func stateFilesAreReplacedWhole() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("procfs-\(getpid())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/state"
        try StateFile.replace(path, with: StateFile.render(header: "v1", [("a", "1"), ("b", "x=y")]))
        try StateFile.replace(path, with: StateFile.render(header: "v1", [("a", "2")]))
        let text = try #require(SmallFile.readWhole(path))
        #expect(try StateFile.fields(of: text, header: "v1").get() == ["a": "2"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["state"])
        #expect(throws: StateFileProblem.self) { try StateFile.replace(directory + "/missing/state", with: "v1\n") }
    }
}
