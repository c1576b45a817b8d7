using System.Buffers.Text;
using System.Collections.Frozen;
using System.Text;

namespace Cryo.Proc;

/// <summary>
/// The VmFlags of /proc/PID/smaps: the flags the kernel keeps per memory area (mlock, madvise,
/// MAP_GROWSDOWN …) as two-letter names, which /proc/PID/maps does not show. smaps is read
/// only for them: it walks every page table to count pages, about 12 ms per GiB mapped.
/// </summary>
internal static class ProcSmaps
{
    /// <summary>The VmFlags names of each area, by its start address.</summary>
    public static IReadOnlyDictionary<ulong, FrozenSet<string>> ReadVmFlags(int pid)
    {
        string path = ProcFiles.PathOf(pid, "smaps");
        var parser = new VmFlagsParser(path);
        try
        {
            // Read in pieces through one buffer: smaps has about 700 bytes per area, tens of MiB
            // for a process with tens of thousands of areas, and all of it is frozen time.
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 0);
            var buffer = new byte[1 << 20];
            int kept = 0;
            for (int read; (read = file.Read(buffer, kept, buffer.Length - kept)) > 0;)
            {
                int filled = kept + read;
                int end = buffer.AsSpan(0, filled).LastIndexOf((byte)'\n') + 1;
                if (end == 0)
                {
                    if (filled == buffer.Length) throw new ProcFormatException(path, $"a line longer than {buffer.Length} bytes");
                    kept = filled;
                    continue;
                }
                parser.Parse(buffer.AsSpan(0, end));
                kept = filled - end;
                buffer.AsSpan(end, kept).CopyTo(buffer);
            }
            parser.Parse(buffer.AsSpan(0, kept));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ProcFormatException(path, $"cannot read ({e.Message}); has the process exited?", e);
        }
        return parser.Flags;
    }

    public static IReadOnlyDictionary<ulong, FrozenSet<string>> ParseVmFlags(ReadOnlySpan<byte> text, string file = "smaps")
    {
        var parser = new VmFlagsParser(file);
        parser.Parse(text);
        return parser.Flags;
    }

    /// <summary>
    /// Takes smaps in whole lines, as bytes, and looks only at area headers and VmFlags lines (of
    /// about 25 lines per area).
    /// </summary>
    private sealed class VmFlagsParser(string file)
    {
        public Dictionary<ulong, FrozenSet<string>> Flags { get; } = [];

        // Most areas share a handful of flag lines: one set for each.
        private readonly Dictionary<string, FrozenSet<string>> setsByLine = [];
        private ulong? current;

        public void Parse(ReadOnlySpan<byte> text)
        {
            while (!text.IsEmpty)
            {
                int newline = text.IndexOf((byte)'\n');
                var line = newline < 0 ? text : text[..newline];
                text = newline < 0 ? [] : text[(newline + 1)..];
                if (line.IsEmpty) continue;
                // An area's header is a maps line ("start-end perms ..."), starting with a lower-case
                // hex digit; the other lines are "Key: value", with the key capitalised.
                if (char.IsAsciiHexDigitLower((char)line[0]) || char.IsAsciiDigit((char)line[0]))
                {
                    int dash = line.IndexOf((byte)'-');
                    if (dash <= 0 || !Utf8Parser.TryParse(line[..dash], out ulong start, out int used, 'x') || used != dash)
                        throw new ProcFormatException(file, $"bad area header '{Encoding.UTF8.GetString(line)}'");
                    current = start;
                }
                else if (line.StartsWith("VmFlags:"u8))
                {
                    if (current is not { } start) throw new ProcFormatException(file, "VmFlags before the first area");
                    string names = Encoding.ASCII.GetString(line["VmFlags:".Length..].Trim((byte)' '));
                    if (!setsByLine.TryGetValue(names, out var set))
                        setsByLine[names] = set = names.Split(' ', StringSplitOptions.RemoveEmptyEntries).ToFrozenSet();
                    Flags[start] = set;
                }
            }
        }
    }
}
