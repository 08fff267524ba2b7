import Testing
@testable import StazDaemon

struct ResidentTrimTests {
    static let smaps = """
    55d0a0000000-55d0a1000000 r-xp 00000000 fe:00 5391559                    /opt/staz/bin/staz
    Size:              16384 kB
    Rss:               12164 kB
    Private_Dirty:         0 kB
    Anonymous:             0 kB
    Swap:                  0 kB
    55d0a1000000-55d0a1100000 r--p 014db000 fe:00 5391559                    /opt/staz/bin/staz
    Size:               1024 kB
    Private_Dirty:       652 kB
    Anonymous:           652 kB
    Swap:                  0 kB
    55d0a1100000-55d0a1200000 rw-p 0157e000 fe:00 5391559                    /opt/staz/bin/staz
    Private_Dirty:        40 kB
    Anonymous:            40 kB
    7fbf83a00000-7fbf83b00000 r--p 00000000 fe:00 77                         /usr/lib/libswiftCore.so
    Private_Dirty:         0 kB
    Anonymous:             0 kB
    Swap:                  0 kB
    7fbf83b00000-7fbf83c00000 rw-p 00000000 00:00 0
    Private_Dirty:        12 kB
    7ffd5e9f0000-7ffd5e9f2000 r-xp 00000000 00:00 0                          [vdso]
    Private_Dirty:         0 kB
    """

    @Test func onlyCleanReadOnlyFileMappingsAreTrimmed() {
        let mappings = ResidentTrim.parseSmaps(Self.smaps)
        #expect(mappings.count == 6)
        #expect(mappings[0] == ResidentTrim.Mapping(start: 0x55d0a0000000, end: 0x55d0a1000000,
                                                     permissions: "r-xp", path: "/opt/staz/bin/staz"))
        #expect(mappings[1].privateDirtyKB == 652)
        // Code and the clean library rodata go; the relocated RELRO segment (r--p but dirty),
        // writable data, anonymous memory and the vdso stay.
        #expect(mappings.filter(\.isCleanReadOnlyFile).map(\.start) == [0x55d0a0000000, 0x7fbf83a00000])
    }

    @Test func garbageLinesAreIgnored() {
        #expect(ResidentTrim.parseSmaps("not smaps\nRss: x kB\n\n").isEmpty)
    }
}
