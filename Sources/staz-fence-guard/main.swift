#if canImport(Glibc)
import Glibc
#endif
import StazFence

// `staz-fence-guard DATA_DIR`: started by staz while it leads (FenceGuardCommandLine), never by
// hand. Its stdin is staz's pipe; see FenceGuard.swift for what it does and why.
let arguments = CommandLine.arguments
guard arguments.count == 2, arguments[1].hasPrefix("/") else {
    FenceGuardLog().error("usage: \(FenceGuardCommandLine.executableName) DATA_DIR (an absolute path; staz starts this program itself while it leads)")
    exit(2)
}
exit(FenceGuard.run(dataDirectory: arguments[1]))
