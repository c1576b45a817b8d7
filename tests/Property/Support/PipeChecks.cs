using System.Globalization;
using System.Text;
using Cryo.Format;

namespace Cryo.Tests.Property.Support;

/// <summary>
/// The precise expectations of the properties: what pipeset must report for every pipe, and what
/// the FIFO section of an image must hold. Each check collects every difference and fails once
/// with all of them, the case, and what the program and cryo said.
/// </summary>
public static class PipeChecks
{
    /// <summary>The report line pipeset must write for pipe <paramref name="index"/> (blocked: its writer was blocked with that many bytes).</summary>
    public static Dictionary<string, string> ExpectedReport(PipeSpec p, PipeLayout layout, int index, int? blockedExtra = null)
    {
        string I(int v) => v.ToString(CultureInfo.InvariantCulture);
        int? room = blockedExtra is null ? p.ExpectedRoom : null;
        int content = blockedExtra is null ? p.Total : 0;
        var chunks = p.Direct ? [.. p.Packets!, .. Enumerable.Repeat(1, room ?? 0)] : new List<int>();
        return new()
        {
            ["kind"] = p.Sort == PipeSort.Anon ? "anon" : "fifo",
            ["ends"] = p.Ends.ToString().ToLowerInvariant(),
            ["rfd"] = I(layout.ReadFd),
            ["wfd"] = I(layout.WriteFd),
            ["rfdfl"] = p.ReadHeld ? I(p.ExpectedReadFdFlags) : "-1",
            ["rfl"] = p.ReadHeld ? I(p.ExpectedReadFlags) : "-1",
            ["wfdfl"] = p.WriteHeld ? I(p.ExpectedWriteFdFlags) : "-1",
            ["wfl"] = p.WriteHeld ? I(p.ExpectedWriteFlags) : "-1",
            ["cap"] = I(p.Capacity),
            ["ident"] = "ok",
            ["queued"] = blockedExtra is null ? I(p.Total) : "0",
            ["epipe"] = p.Ends == Ends.Write ? "yes" : "-",
            ["room"] = room is null ? "-" : I(room.Value),
            ["read"] = I(content + (room ?? 0)),
            ["bytes"] = I(content),
            ["crc"] = blockedExtra is null ? PipeSpec.Crc(p.Content()).ToString("x8", CultureInfo.InvariantCulture) : "00000000",
            ["chunks"] = chunks.Count == 0 ? "-" : string.Join(',', chunks),
            ["fresh"] = room > 0 ? "ok" : "-",
            ["after"] = p.WriteHeld ? "eagain" : "eof",
            ["connected"] = p.Ends is Ends.Both or Ends.RdWr ? "yes" : "-",
            ["blocked"] = blockedExtra is null ? "-" : I(blockedExtra.Value),
            ["calls"] = blockedExtra is null ? "-" : "1",
        };
    }

    /// <summary>P1 / P3: the program passed and found every pipe exactly as created.</summary>
    public static void AssertReport(PipeReport report, PipeSet set, PipeLayout[] layout, string stage, string cryoSaid, int? blockedIndex = null, int blockedExtra = 0)
    {
        var problems = new List<string>();
        if (report.Verdict != "PASS") problems.Add($"verdict: {report.Verdict}");
        if (report.Pipes.Count != set.Pipes.Length) problems.Add($"the report has {report.Pipes.Count} pipe lines, expected {set.Pipes.Length}");
        for (int i = 0; i < Math.Min(report.Pipes.Count, set.Pipes.Length); i++)
        {
            var expected = ExpectedReport(set.Pipes[i], layout[i], i, i == blockedIndex ? blockedExtra : null);
            var found = report.Pipes[i];
            var wrong = expected.Where(kv => found.GetValueOrDefault(kv.Key) != kv.Value)
                .Select(kv => $"{kv.Key}={Shorten(found.GetValueOrDefault(kv.Key) ?? "(missing)")} (expected {Shorten(kv.Value)})").ToList();
            if (wrong.Count > 0) problems.Add($"pipe {i} [{set.Pipes[i].ToSpecLine()}]: {string.Join(", ", wrong)}");
        }
        if (problems.Count > 0)
            throw new PipePropertyException($"{stage}: {problems.Count} problem(s):\n  {string.Join("\n  ", problems)}\ncryo said:\n{cryoSaid}\n{report.Describe()}");
    }

    /// <summary>P2: the image's descriptors and FIFO items hold exactly the pipes' bytes, lengths, packets, capacities and flags.</summary>
    public static void AssertImage(ImagePipes image, PipeSet set, PipeLayout[] layout, string stage, Func<string> describe, int? blockedIndex = null)
    {
        var problems = new List<string>();
        var ids = new List<ulong>();
        for (int i = 0; i < set.Pipes.Length; i++)
        {
            var p = set.Pipes[i];
            var l = layout[i];
            string at = $"pipe {i} [{p.ToSpecLine()}]";
            ulong id = 0;
            foreach (var (fd, read) in new[] { (l.ReadFd, true), (l.WriteFd, false) })
            {
                if (fd < 0 || (!read && fd == l.ReadFd)) continue;
                var d = image.Descriptors.SingleOrDefault(x => x.Fd == fd);
                if (d is null) { problems.Add($"{at}: no FDES for fd {fd}"); continue; }
                var kind = p.Sort == PipeSort.Anon ? FileKind.Pipe : FileKind.Fifo;
                uint flags = (uint)(read ? p.ExpectedReadFlags : p.ExpectedWriteFlags), fdFlags = (uint)(read ? p.ExpectedReadFdFlags : p.ExpectedWriteFdFlags);
                if (d.Kind != kind) problems.Add($"{at}: fd {fd} has kind {d.Kind}, expected {kind}");
                if (d.OpenFlags != flags) problems.Add($"{at}: fd {fd} open_flags 0{Convert.ToString(d.OpenFlags, 8)}, expected 0{Convert.ToString(flags, 8)}");
                if (d.FdFlags != fdFlags) problems.Add($"{at}: fd {fd} fd_flags {d.FdFlags}, expected {fdFlags}");
                if (p.Sort == PipeSort.Fifo && Encoding.UTF8.GetString(d.Path) != l.Path) problems.Add($"{at}: fd {fd} path {Encoding.UTF8.GetString(d.Path)}, expected {l.Path}");
                if (id != 0 && d.PipeId != id) problems.Add($"{at}: its ends have pipe ids {id} and {d.PipeId}");
                id = d.PipeId;
            }
            if (id == 0) continue;
            if (ids.Contains(id)) problems.Add($"{at}: pipe id {id} is shared with another pipe");
            ids.Add(id);
            if (!image.Pipes.TryGetValue(id, out var pipe)) { problems.Add($"{at}: no FINF for pipe id {id}"); continue; }
            var info = pipe.Info;
            bool blocked = i == blockedIndex;
            var expectedKind = p.Sort == PipeSort.Anon ? PipeKind.Anonymous : PipeKind.Named;
            if (info.Kind != expectedKind) problems.Add($"{at}: FINF kind {info.Kind}, expected {expectedKind}");
            if (info.Packetized != p.ExpectedPacketized) problems.Add($"{at}: FINF packetized {info.Packetized}, expected {p.ExpectedPacketized}");
            if (info.Capacity != (uint)p.Capacity) problems.Add($"{at}: FINF capacity {info.Capacity}, expected {p.Capacity}");
            if (info.ByteCount != (ulong)p.Total) problems.Add($"{at}: FINF byte_count {info.ByteCount}, expected {p.Total}{(blocked ? " (the full pipe of the blocked writer)" : "")}");
            byte[] found = [.. pipe.Data.SelectMany(c => c)];
            byte[] expected = p.Content();
            if (!found.AsSpan().SequenceEqual(expected))
                problems.Add($"{at}: FBUF data {found.Length} bytes crc32c:{PipeSpec.Crc(found):x8}, expected {expected.Length} bytes crc32c:{PipeSpec.Crc(expected):x8}" +
                    $"{FirstDifference(found, expected)}");
            var lengths = pipe.Data.Select(c => c.Length).ToList();
            if (info.Packetized)
            {
                if (p.Direct && !lengths.SequenceEqual(p.Packets!))
                    problems.Add($"{at}: FBUF packets [{string.Join(',', lengths)}], expected [{string.Join(',', p.Packets!)}]");
            }
            else
            {
                int items = (p.Total + FormatLimits.DataChunk - 1) / FormatLimits.DataChunk;
                if (lengths.Count != items || lengths.Any(n => n == 0 || n > FormatLimits.DataChunk))
                    problems.Add($"{at}: stream FBUF lengths [{string.Join(',', lengths)}], expected {items} item(s) of at most {FormatLimits.DataChunk} bytes");
            }
        }
        if (image.Pipes.Count != ids.Count)
            problems.Add($"the FIFO section has {image.Pipes.Count} pipes, the program {ids.Count}");
        if (problems.Count > 0)
            throw new PipePropertyException($"{stage}: {problems.Count} problem(s):\n  {string.Join("\n  ", problems)}\nFIFO section:\n{image.DescribeFifo()}\n{describe()}");
    }

    /// <summary>P4: two images hold the same FIFO items, item by item (pipe ids included: one process, so the same inodes).</summary>
    public static void AssertSameFifoItems(ImagePipes tee, ImagePipes drain, Func<string> describe)
    {
        string? difference = null;
        if (tee.FifoItems.Count != drain.FifoItems.Count) difference = $"tee wrote {tee.FifoItems.Count} FIFO items, drain {drain.FifoItems.Count}";
        for (int i = 0; difference is null && i < tee.FifoItems.Count; i++)
        {
            bool same = (tee.FifoItems[i], drain.FifoItems[i]) switch
            {
                (PipeInfo a, PipeInfo b) => a == b,
                (PipeData a, PipeData b) => a.PipeId == b.PipeId && a.Data.Span.SequenceEqual(b.Data.Span),
                _ => false,
            };
            if (!same) difference = $"FIFO item {i} differs";
        }
        if (difference is null && !tee.Descriptors.Select(d => (d.Fd, d.PipeId, d.OpenFlags, d.FdFlags)).SequenceEqual(drain.Descriptors.Select(d => (d.Fd, d.PipeId, d.OpenFlags, d.FdFlags))))
            difference = "the descriptors differ";
        if (difference is not null)
            throw new PipePropertyException($"tee and drain differ: {difference}\ntee:\n{tee.DescribeFifo()}\ndrain:\n{drain.DescribeFifo()}\n{describe()}");
    }

    /// <summary>A checkpoint with --pipe-dump drain of a packet pipe without an O_DIRECT write end is refused, naming the fix, and writes no file.</summary>
    public static void AssertDrainRefused(CliWrap.Buffered.BufferedCommandResult result, string image, int pid, Func<string> describe)
    {
        if (result.ExitCode == 0 || !result.StandardError.Contains("use --pipe-dump tee", StringComparison.Ordinal)
            || !result.StandardError.Contains($"pid {pid}", StringComparison.Ordinal) || !result.StandardError.Contains("nothing was drained", StringComparison.Ordinal))
            throw new PipePropertyException($"drain of a packet pipe without an O_DIRECT writer must be refused; cryo exited {result.ExitCode}: {result.StandardError}\n{describe()}");
        if (File.Exists(image)) throw new PipePropertyException($"a refused checkpoint left {image}\n{describe()}");
    }

    private static string FirstDifference(byte[] found, byte[] expected)
    {
        int n = Math.Min(found.Length, expected.Length);
        for (int i = 0; i < n; i++)
            if (found[i] != expected[i]) return $"; first difference at byte {i}: 0x{found[i]:x2}, expected 0x{expected[i]:x2}";
        return found.Length == expected.Length ? "" : $"; equal for the first {n} bytes";
    }

    private static string Shorten(string s) => s.Length <= 80 ? s : s[..60] + $"...({s.Length} chars)";
}

/// <summary>A property violated; the message holds the case, the differences and the logs.</summary>
public sealed class PipePropertyException(string message) : Exception(message);
