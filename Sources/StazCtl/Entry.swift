import ArgumentParser
import Foundation

/// Entry point for the `stazctl` executable. Global options given before the subcommand
/// (`stazctl -d etcd3://h:2379 list`) are moved after it so the subcommand parses them.
/// Every failure is one `Error: ...` line on stderr and exit code 1.
public enum StazCtlMain {
    static let globalOptionsWithValue: Set<String> = ["-c", "--config-file", "-d", "--dcs-url", "--dcs"]
    static let globalFlags: Set<String> = ["-k", "--insecure"]

    public static func reorder(_ arguments: [String]) -> [String] {
        var globals: [String] = []
        var index = 0
        while index < arguments.count {
            let arg = arguments[index]
            if globalOptionsWithValue.contains(arg), index + 1 < arguments.count {
                globals += [arg, arguments[index + 1]]; index += 2
            } else if globalOptionsWithValue.contains(where: { arg.hasPrefix($0 + "=") }) || globalFlags.contains(arg) {
                globals.append(arg); index += 1
            } else {
                break
            }
        }
        guard index < arguments.count else { return arguments }
        if arguments[index] == "query" {
            // `query` has its own `-c` (SQL) and `-d` (database): globals go in long form.
            let longForms = ["-c": "--config-file", "-d": "--dcs-url", "-k": "--insecure"]
            globals = globals.map { longForms[$0] ?? $0 }
        }
        return [arguments[index]] + globals + arguments[(index + 1)...]
    }

    public static func main(_ arguments: [String] = Array(CommandLine.arguments.dropFirst())) async -> Int32 {
        do {
            var command = try StazCtlCommand.parseAsRoot(reorder(arguments))
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
            return 0
        } catch is CtlAborted {
            FileHandle.standardError.write(Data("Aborted!\n".utf8))
            return 1
        } catch let error as CtlError {
            FileHandle.standardError.write(Data("Error: \(error.message)\n".utf8))
            return 1
        } catch {
            let code = StazCtlCommand.exitCode(for: error)
            if code == .success {
                print(StazCtlCommand.fullMessage(for: error))
                return 0
            }
            let message = StazCtlCommand.message(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
            FileHandle.standardError.write(Data("Error: \(message)\n".utf8))
            return 1
        }
    }
}
