"""Where a process's resident memory is: resident pages (from /proc/PID/pagemap) per mapping,
grouped by what maps them; for the executable, per ELF section and, for .text, per Swift module
(or C library) of the symbols the resident pages hold. Reading pagemap needs root.

    python3 -m bench.benchlib.residency PID [TOP]
"""

import bisect
import collections
import os
import re
import struct
import subprocess
import sys

PAGE = os.sysconf("SC_PAGE_SIZE")


def mappings(pid):
    """(start, end, perms, file offset, path) of every mapping of `pid`."""
    found = []
    with open(f"/proc/{pid}/maps") as handle:
        for line in handle:
            parts = line.split(maxsplit=5)
            start, end = (int(x, 16) for x in parts[0].split("-"))
            found.append((start, end, parts[1], int(parts[2], 16), parts[5].strip() if len(parts) > 5 else ""))
    return found


def resident_pages(pagemap, start, end):
    """Addresses of the pages in [start, end) that are present in RAM (pagemap bit 63)."""
    pagemap.seek(start // PAGE * 8)
    data = pagemap.read((end - start) // PAGE * 8)
    return [start + i * PAGE for i in range(len(data) // 8) if struct.unpack_from("<Q", data, i * 8)[0] >> 63]


def group_of(path, executable):
    if path == executable:
        return "executable"
    if not path or path.startswith("["):
        return "anonymous (heap, stacks, allocator arenas)"
    name = os.path.basename(path)
    if re.match(r"lib(swift|Foundation|_Foundation|dispatch|BlocksRuntime)", name) or "/swift/" in path:
        return "Swift runtime and Foundation libraries"
    if "python" in path:
        return "Python interpreter and extension modules"
    return "C libraries (libc, libstdc++, libm, ...)"


def elf_sections(executable):
    """(name, address, file offset, size) of the executable's sections."""
    out = subprocess.run(["readelf", "-SW", executable], capture_output=True, text=True).stdout
    pattern = r"\s*\[\s*\d+\]\s+(\S+)\s+\S+\s+([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)"
    return [(m.group(1), int(m.group(2), 16), int(m.group(3), 16), int(m.group(4), 16))
            for m in (re.match(pattern, line) for line in out.splitlines()) if m]


def text_symbols(executable):
    """(address, name) of the executable's code symbols, by address."""
    out = subprocess.run(["nm", "-n", "--defined-only", executable], capture_output=True, text=True).stdout
    return [(int(p[0], 16), p[2]) for p in (line.split() for line in out.splitlines())
            if len(p) == 3 and p[1] in "tTwW"]


C_PREFIXES = (("swift_", "Swift runtime"), ("CNIOBoringSSL", "BoringSSL"), ("SSL_", "BoringSSL"),
              ("EVP_", "BoringSSL"), ("c_nio", "NIO C shims"), ("CNIO", "NIO C shims"))


def module_of(symbol):
    """The Swift module a mangled symbol belongs to ($s<length><Module>...), else a C library
    guessed from its prefix."""
    match = re.match(r"_?\$s(\d+)([A-Za-z_][A-Za-z0-9_]*)", symbol)
    if match:
        return match.group(2)[:int(match.group(1))]
    if symbol.startswith("$s"):
        return "Swift standard library specializations"
    return next((group for prefix, group in C_PREFIXES if symbol.startswith(prefix)), "other C code")


def breakdown(pid):
    """KiB resident per group of mappings, per executable section and per module of .text."""
    executable = os.readlink(f"/proc/{pid}/exe")
    by_group, by_path = collections.Counter(), collections.Counter()
    executable_offsets = []
    with open(f"/proc/{pid}/pagemap", "rb") as pagemap:
        for start, end, _perms, offset, path in mappings(pid):
            pages = resident_pages(pagemap, start, end)
            by_group[group_of(path, executable)] += len(pages) * PAGE
            by_path[path or "[anon]"] += len(pages) * PAGE
            if path == executable:
                executable_offsets += [offset + (page - start) for page in pages]
    sections, text_ranges = collections.Counter(), []
    section_table = elf_sections(executable)
    for offset in executable_offsets:
        for name, address, section_offset, size in section_table:
            low, high = max(offset, section_offset), min(offset + PAGE, section_offset + size)
            if high > low and not name.startswith((".bss", ".tbss")):
                sections[name] += high - low
                if name == ".text":
                    text_ranges.append((address + low - section_offset, high - low))
    modules = collections.Counter()
    symbols = text_symbols(executable)
    addresses = [address for address, _ in symbols]
    for start, size in text_ranges:
        end = start + size
        i = max(0, bisect.bisect_right(addresses, start) - 1)
        while i < len(symbols) and symbols[i][0] < end:
            low = max(symbols[i][0], start)
            high = min(symbols[i + 1][0] if i + 1 < len(symbols) else end, end)
            if high > low:
                modules[module_of(symbols[i][1])] += high - low
            i += 1
    kib = lambda counter: {k: v // 1024 for k, v in counter.most_common()}
    return {"executable": executable, "by_group_kib": kib(by_group), "by_mapping_kib": kib(by_path),
            "executable_sections_kib": kib(sections), "text_by_module_kib": kib(modules)}


def render(report, top=20):
    lines = [f"resident memory of {report['executable']}, KiB"]
    for title, key in (("by what maps it", "by_group_kib"), ("by mapping", "by_mapping_kib"),
                       ("executable, by ELF section", "executable_sections_kib"),
                       ("executable .text, by Swift module or C library", "text_by_module_kib")):
        rows = list(report[key].items())
        lines.append(f"\n{title} (total {sum(v for _, v in rows)}):")
        lines += [f"{size:8d}  {name}" for name, size in rows[:top]]
    return "\n".join(lines)


if __name__ == "__main__":
    print(render(breakdown(int(sys.argv[1])), int(sys.argv[2]) if len(sys.argv) > 2 else 20))
