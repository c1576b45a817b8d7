using Cryo.Format;
using Xunit;

namespace Cryo.Tests.Format;

/// <summary>
/// Cross-checks the Kaitai Struct description formats/cryo.ksy against the C# implementation:
/// every sample file is read by Cryo.Format's reader (printed by cryo-dump's JsonPrinter, as
/// <c>cryo-dump --json</c> does) and by a parser generated from the .ksy at run time
/// (tests/Format/Kaitai/crosscheck.js), and the two must agree item by item and field by field.
/// Needs Node.js and <c>npm ci --prefix tests/Format/Kaitai</c>; without them the tests fail.
/// </summary>
public sealed class KaitaiCrossCheckTests : IDisposable
{
    private const string NoSamples = "(no samples)";
    private readonly string _scratch = Directory.CreateTempSubdirectory("cryo-kaitai-").FullName;

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    public static TheoryData<string> Samples()
    {
        var data = new TheoryData<string>();
        string dir = KaitaiCrossCheck.SamplesDirectory;
        var files = Directory.Exists(dir) ? Directory.GetFiles(dir, "*.cryo").Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList() : [];
        foreach (string? f in files) data.Add(f!);
        if (files.Count == 0) data.Add(NoSamples);
        return data;
    }

    [Theory]
    [MemberData(nameof(Samples))]
    public async Task Sample_file_reads_the_same_through_the_ksy_as_through_the_CSharp_reader(string sample)
    {
        if (sample == NoSamples)
            Assert.Fail($"no sample files (*.cryo) in {KaitaiCrossCheck.Relative(KaitaiCrossCheck.SamplesDirectory)} to cross-check");
        await KaitaiCrossCheck.AssertAgreeAsync(Path.Combine(KaitaiCrossCheck.SamplesDirectory, sample));
    }

    [Fact]
    public async Task Every_item_kind_and_edge_values_read_the_same_through_the_ksy()
    {
        string file = Write("edge.cryo", KaitaiEdgeSample.Build());

        var seen = new HashSet<ItemTag> { Trailer.TagValue };
        using (var reader = CheckpointReader.OpenFile(file, returnUnknownItems: true))
            while (reader.GetNextItem() is { } item) seen.Add(item.Tag);
        var missing = ItemKinds.All.Select(k => k.Tag).Where(t => !seen.Contains(t)).ToList();
        Assert.True(missing.Count == 0,
            $"KaitaiEdgeSample does not cover the item kinds {string.Join(", ", missing)}: add them there (and to formats/cryo.ksy)");
        Assert.Contains(KaitaiEdgeSample.UnknownItem, seen);

        await KaitaiCrossCheck.AssertAgreeAsync(file);
    }

    [Fact]
    public async Task The_cross_check_reports_a_file_that_differs_in_one_field()
    {
        // The same checkpoint but for the pid: the Kaitai side reads one file, the C# side the other.
        string original = Write("pid4242.cryo", KaitaiEdgeSample.Build(pid: 4242));
        string twin = Write("pid4243.cryo", KaitaiEdgeSample.Build(pid: 4243));
        using var csharp = KaitaiCrossCheck.CSharpJson(twin);
        using var kaitai = await KaitaiCrossCheck.KaitaiJsonAsync(original);

        var differences = KaitaiCrossCheck.Compare(csharp.RootElement, kaitai.RootElement);

        // pid, pgid (= pid) and tid (= pid) differ, and so does the chain checksum over the item checksums.
        Assert.Equal(
        [
            "items[2] (item #2 'PINF'): field pid: C# 4243, Kaitai 4242",
            "items[2] (item #2 'PINF'): field pgid: C# 4243, Kaitai 4242",
            $"items[{TinfIndex(twin)}] (item #{TinfIndex(twin)} 'TINF'): field tid: C# 4243, Kaitai 4242",
            $"trailer: field chain_crc: C# {ChainCrc(twin)}, Kaitai {ChainCrc(original)}",
        ], differences);
    }

    [Fact]
    public async Task The_cross_check_reports_a_ksy_whose_fields_are_swapped()
    {
        string file = Write("edge.cryo", KaitaiEdgeSample.Build());
        // Drift: the .ksy reads CRED's first two u4 fields in the wrong order.
        string ksy = WriteKsy("swapped.ksy", text => Replace(Replace(Replace(text,
            "- id: ruid", "- id: TMP"), "- id: euid", "- id: ruid"), "- id: TMP", "- id: euid"));
        using var csharp = KaitaiCrossCheck.CSharpJson(file);
        using var kaitai = await KaitaiCrossCheck.KaitaiJsonAsync(file, ksy);

        var differences = KaitaiCrossCheck.Compare(csharp.RootElement, kaitai.RootElement);

        Assert.NotEmpty(differences);
        Assert.All(differences, d => Assert.StartsWith("items[3] (item #3 'CRED'): ", d));
        Assert.Contains("items[3] (item #3 'CRED'): field ruid: C# 1000, Kaitai 1001", differences);
        Assert.Contains("items[3] (item #3 'CRED'): field euid: C# 1001, Kaitai 1000", differences);
        Assert.Contains(differences, d => d.Contains("order differs", StringComparison.Ordinal));
        Assert.Contains("CRED", KaitaiCrossCheck.Report(file, differences), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_cross_check_reports_a_ksy_with_a_wrong_field_width()
    {
        string file = Write("edge.cryo", KaitaiEdgeSample.Build());
        // Drift: TINF's altstack_flags read as 8 bytes instead of 4; every later field shifts.
        string ksy = WriteKsy("width.ksy", text => Replace(text,
            "      - id: altstack_flags\n        type: u4", "      - id: altstack_flags\n        type: u8"));

        var result = await KaitaiCrossCheck.RunScriptAsync(file, ksy);

        Assert.True(result.ExitCode == 1, $"crosscheck.js accepted a .ksy with a wrong TINF layout (exit {result.ExitCode}): {result.Error}");
        Assert.Contains("'TINF'", result.Error, StringComparison.Ordinal);
    }

    /// <summary>
    /// EPOL's entry checks that need more than the entry (target_fd above the previous entry's, as a
    /// type argument; not the epoll's own fd, through _parent) and its event-mask rules are in the
    /// .ksy: a watch the C# reader refuses, the Kaitai side refuses too.
    /// </summary>
    [Theory]
    [InlineData(new[] { 3, 3 }, 0x19u, "target_fd", 3)] // a repeat
    [InlineData(new[] { 4, 3 }, 0x19u, "target_fd", 3)] // descending
    [InlineData(new[] { 7 }, 0x19u, "target_fd", 7)] // the epoll's own fd
    [InlineData(new[] { -1 }, 0x19u, "target_fd", -1)]
    [InlineData(new[] { 3 }, 0x819u, "events", 0x819)] // 0x800 is no epoll bit
    [InlineData(new[] { 3 }, 0x5000_0019u, "events", 0x5000_0019)] // EPOLLEXCLUSIVE with EPOLLONESHOT
    [InlineData(new[] { 3 }, 0x1u, "events", 0x1)] // no EPOLLERR | EPOLLHUP
    [InlineData(new[] { 3 }, 0x4000_0001u, "events", 0x4000_0001)] // a fired one-shot watch keeps only flag bits
    public async Task The_ksy_refuses_the_epoll_watches_the_reader_refuses(int[] targets, uint events, string field, long refused)
    {
        var payload = new PayloadWriter();
        payload.I32(7);
        payload.Count(targets.Length);
        foreach (int target in targets) { payload.I32(target); payload.U32(events); payload.U64(0); }
        byte[] bytes = new RawCheckpoint().Begin("PROC")
            .Item(new ProcessInfo(7, 1, 7, 7, ProcessState.Alive, 0, 0, 0x12, 1, 0, 0, 0, 1, "p"u8.ToArray(), [], [], []))
            .Frame("EPOL", ItemFlags.Critical, payload.Written.ToArray()).End("PROC").Complete();
        var rejected = Assert.Throws<CheckpointFormatException>(() => RawCheckpoint.ReadAll(bytes));
        Assert.Contains($"field '{field}'", rejected.Message, StringComparison.Ordinal);

        var result = await KaitaiCrossCheck.RunScriptAsync(Write("epol.cryo", bytes));

        Assert.True(result.ExitCode == 1, $"crosscheck.js accepted an EPOL the C# reader refuses ({rejected.Message}): exit {result.ExitCode}");
        // Kaitai names the value, not the field: "item #2 'EPOL' …: ValidationExprError: not matching the expression, got [3]".
        Assert.True(result.Error.Contains("item #2 'EPOL'", StringComparison.Ordinal)
            && result.Error.Contains($"ValidationExprError: not matching the expression, got [{refused}]", StringComparison.Ordinal), result.Error);
    }

    /// <summary>
    /// INOT's checks are in the .ksy: a descriptor not negative, watch descriptors positive and
    /// ascending (the previous one as a type argument), no mask bit inotify_add_watch does not take,
    /// an absolute path; a payload cut short, or a count it cannot hold, is refused by both. (The
    /// C# reader checks the count against 26 bytes an entry before it reads one; the .ksy runs out
    /// of bytes in the entries instead.)
    /// </summary>
    [Theory]
    [InlineData("fd -1", "field 'fd' has invalid value -1", "ValidationLessThanError: not in range, min [0], but got [-1]")]
    [InlineData("wd 0", "field 'wd' has invalid value 0", "ValidationExprError: not matching the expression, got [0]")]
    [InlineData("wd -1", "field 'wd' has invalid value -1", "ValidationExprError: not matching the expression, got [-1]")]
    [InlineData("wd repeated", "field 'wd' has invalid value 1", "ValidationExprError: not matching the expression, got [1]")]
    [InlineData("wd descending", "field 'wd' has invalid value 3", "ValidationExprError: not matching the expression, got [3]")]
    [InlineData("mask 0x1000", "field 'mask' has invalid value 0x1000", "ValidationExprError: not matching the expression, got [4096]")]
    [InlineData("mask 0x8000002", "field 'mask' has invalid value 0x8000002", "ValidationExprError: not matching the expression, got [134217730]")] // FS_EVENT_ON_CHILD
    [InlineData("mask 0xffffffff", "field 'mask' has invalid value 0xffffffff", "ValidationExprError: not matching the expression, got [4294967295]")]
    [InlineData("path relative", "field 'path' has invalid value", "ValidationExprError: not matching the expression")]
    [InlineData("path empty", "field 'path' has invalid value", "ValidationLessThanError: not in range, min [1], but got [0]")]
    [InlineData("path of 4097 bytes", "field 'path' is 4097 bytes long, over the limit of 4096", "ValidationGreaterThanError: not in range, max [4096], but got [4097]")]
    [InlineData("cut in a path", "field 'path' needs 4 bytes but only 2 remain", "EOFError: requested 4 bytes, but only 2 bytes available")]
    [InlineData("cut in an entry", "field 'device' needs 8 bytes but only 4 remain", "EOFError: requested 8 bytes, but only 4 bytes available")]
    [InlineData("count 3 of 2", "list 'watches' claims 3 entries of 26 bytes but only 72 bytes remain", "EOFError: requested 4 bytes, but only 0 bytes available")]
    public async Task The_ksy_refuses_the_inotify_watches_the_reader_refuses(string fault, string csharpError, string kaitaiError)
    {
        var inotify = new InotifyFile(4, [new InotifyWatch(1, 0x2, 0x803, 2222, "/srv/job/out.log"u8.ToArray()), new InotifyWatch(3, 0x8000_0002, 0x803, 2223, "/srv"u8.ToArray())]);
        // fd 0, watches.count 4; the first entry at 8: wd 8, mask 12, device 16, inode 24, path.length 32, path 34; the second at 50
        // (its device at 58, its path at 76). Cut in the second entry, the count (26 bytes an entry) still fits the C# reader's check.
        byte[] WithPath(byte[] path) => Patch(inotify with { Watches = [inotify.Watches[0] with { Path = path }] }, 0);
        byte[] payload = fault switch
        {
            "fd -1" => Patch(inotify, 0, 0xff, 0xff, 0xff, 0xff),
            "wd 0" => Patch(inotify, 8, 0),
            "wd -1" => Patch(inotify, 8, 0xff, 0xff, 0xff, 0xff),
            "wd repeated" => Patch(inotify, 50, 1),
            "wd descending" => Patch(inotify, 8, 4),
            "mask 0x1000" => Patch(inotify, 12, 0, 0x10),
            "mask 0x8000002" => Patch(inotify, 12, 2, 0, 0, 0x08),
            "mask 0xffffffff" => Patch(inotify, 54, 0xff, 0xff, 0xff, 0xff),
            "path relative" => WithPath("srv/job/out.log"u8.ToArray()),
            "path empty" => WithPath([]),
            "path of 4097 bytes" => Patch(inotify, 32, 0x01, 0x10), // the length alone: the reader stops before the bytes
            "cut in a path" => Patch(inotify, 0)[..78],
            "cut in an entry" => Patch(inotify, 0)[..62],
            "count 3 of 2" => Patch(inotify, 4, 3),
            _ => throw new ArgumentException(fault),
        };
        byte[] bytes = new RawCheckpoint().Begin("PROC")
            .Item(new ProcessInfo(7, 1, 7, 7, ProcessState.Alive, 0, 0, 0x12, 1, 0, 0, 0, 1, "p"u8.ToArray(), [], [], []))
            .Frame("INOT", ItemFlags.Critical, payload).End("PROC").Complete();
        var rejected = Assert.Throws<CheckpointFormatException>(() => RawCheckpoint.ReadAll(bytes));
        Assert.Contains(csharpError, rejected.Message, StringComparison.Ordinal);

        var result = await KaitaiCrossCheck.RunScriptAsync(Write("inot.cryo", bytes));

        Assert.True(result.ExitCode == 1, $"crosscheck.js accepted an INOT the C# reader refuses ({rejected.Message}): exit {result.ExitCode}");
        Assert.True(result.Error.Contains("item #2 'INOT'", StringComparison.Ordinal) && result.Error.Contains(kaitaiError, StringComparison.Ordinal), result.Error);
    }

    /// <summary>
    /// PIDF's checks are all in the .ksy (a descriptor not negative, a pid positive), and a payload
    /// cut short or too long is refused by both: what the C# reader refuses, the Kaitai side refuses
    /// too. (That the pid is one of a PINF of the file is a consumer's check, neither's.)
    /// </summary>
    [Theory]
    [InlineData("fd -1", "field 'fd' has invalid value -1", "ValidationLessThanError: not in range, min [0], but got [-1]")]
    [InlineData("fd -2^31", "field 'fd' has invalid value -2147483648", "ValidationLessThanError: not in range, min [0], but got [-2147483648]")]
    [InlineData("pid 0", "field 'pid' has invalid value 0", "ValidationLessThanError: not in range, min [1], but got [0]")]
    [InlineData("pid -1", "field 'pid' has invalid value -1", "ValidationLessThanError: not in range, min [1], but got [-1]")]
    [InlineData("pid -2^31", "field 'pid' has invalid value -2147483648", "ValidationLessThanError: not in range, min [1], but got [-2147483648]")]
    [InlineData("7 bytes", "field 'pid' needs 4 bytes but only 3 remain", "EOFError: requested 4 bytes, but only 3 bytes available")]
    [InlineData("4 bytes", "field 'pid' needs 4 bytes but only 0 remain", "EOFError: requested 4 bytes, but only 0 bytes available")]
    [InlineData("3 bytes", "field 'fd' needs 4 bytes but only 3 remain", "EOFError: requested 4 bytes, but only 3 bytes available")]
    [InlineData("9 bytes", "1 unexpected bytes after the last field", "1 bytes after the last field of pid_fd")]
    [InlineData("an EVFD's 16 bytes", "8 unexpected bytes after the last field", "8 bytes after the last field of pid_fd")]
    public async Task The_ksy_refuses_the_pidfds_the_reader_refuses(string fault, string csharpError, string kaitaiError)
    {
        var pidfd = new PidFd(5, 4243);
        // fd 0, pid 4: 8 bytes.
        byte[] payload = fault switch
        {
            "fd -1" => Patch(pidfd, 0, 0xff, 0xff, 0xff, 0xff),
            "fd -2^31" => Patch(pidfd, 0, 0, 0, 0, 0x80),
            "pid 0" => Patch(pidfd, 4, 0, 0, 0, 0),
            "pid -1" => Patch(pidfd, 4, 0xff, 0xff, 0xff, 0xff),
            "pid -2^31" => Patch(pidfd, 4, 0, 0, 0, 0x80),
            "7 bytes" => Patch(pidfd, 0)[..7],
            "4 bytes" => Patch(pidfd, 0)[..4],
            "3 bytes" => Patch(pidfd, 0)[..3],
            "9 bytes" => [.. Patch(pidfd, 0), 0],
            "an EVFD's 16 bytes" => Patch(new EventCounter(5, 1, 0), 0),
            _ => throw new ArgumentException(fault),
        };
        byte[] bytes = new RawCheckpoint().Begin("PROC")
            .Item(new ProcessInfo(7, 1, 7, 7, ProcessState.Alive, 0, 0, 0x12, 1, 0, 0, 0, 1, "p"u8.ToArray(), [], [], []))
            .Frame("PIDF", ItemFlags.Critical, payload).End("PROC").Complete();
        var rejected = Assert.Throws<CheckpointFormatException>(() => RawCheckpoint.ReadAll(bytes));
        Assert.Contains(csharpError, rejected.Message, StringComparison.Ordinal);

        var result = await KaitaiCrossCheck.RunScriptAsync(Write("pidf.cryo", bytes));

        Assert.True(result.ExitCode == 1, $"crosscheck.js accepted a PIDF the C# reader refuses ({rejected.Message}): exit {result.ExitCode}");
        Assert.True(result.Error.Contains("item #2 'PIDF'", StringComparison.Ordinal) && result.Error.Contains(kaitaiError, StringComparison.Ordinal), result.Error);
    }

    /// <summary>
    /// What the reader takes, both sides take: the smallest and largest descriptors and pids, pids
    /// with a byte of each position set, and what the reader leaves to consumers (a pid no PINF of
    /// the file has, a PIDF without an FDES before it) read the same through the .ksy as through the
    /// C# reader.
    /// </summary>
    [Fact]
    public async Task The_ksy_reads_the_pidfds_the_reader_takes()
    {
        var pidfds = new[]
        {
            new PidFd(3, 7), // the process's own pidfd
            new PidFd(0, 1),
            new PidFd(int.MaxValue, int.MaxValue),
            new PidFd(4, 1 << 22), // PID_MAX_LIMIT
            new PidFd(5, 0x7f),
            new PidFd(6, 0x80),
            new PidFd(0x100, 0xff00),
            new PidFd(0x1_0000, 0x00ff_0000),
            new PidFd(0x7f00_0000, 0x7f00_0000),
            new PidFd(8, 4243), // no PINF of the file has it: the consumer's check, not the reader's
        };
        var raw = new RawCheckpoint().Begin("PROC")
            .Item(new ProcessInfo(7, 1, 7, 7, ProcessState.Alive, 0, 0, 0x12, 1, 0, 0, 0, 1, "p"u8.ToArray(), [], [], []));
        foreach (var pidfd in pidfds) raw.Item(pidfd);
        byte[] bytes = raw.End("PROC").Complete();
        var read = RawCheckpoint.ReadAll(bytes);
        Assert.Equal(pidfds, read.Skip(2).Take(pidfds.Length));

        await KaitaiCrossCheck.AssertAgreeAsync(Write("pidf-ok.cryo", bytes));
    }

    /// <summary>
    /// EPQT's checks are in the .ksy: a descriptor not negative, and each listed target not
    /// negative, above the previous one (as a type argument) and not the epoll's own fd (through
    /// _parent); a payload cut short, a count it cannot hold or one over the limit, and bytes after
    /// the list are refused by both, with the critical bit clear as writers write it or set (a
    /// reader that knows the tag decodes it either way): what the C# reader refuses, the Kaitai
    /// side refuses too. (The C# reader checks the count against 4 bytes an entry before it reads
    /// one; the .ksy runs out of bytes in the entries instead. That the EPQT follows an EPOL of its
    /// fd, and names watches of it, are a consumer's checks, neither's.)
    /// </summary>
    [Theory]
    [InlineData("fd -1", false, "field 'fd' has invalid value -1", "ValidationLessThanError: not in range, min [0], but got [-1]")]
    [InlineData("fd -1", true, "field 'fd' has invalid value -1", "ValidationLessThanError: not in range, min [0], but got [-1]")]
    [InlineData("fd -2^31", false, "field 'fd' has invalid value -2147483648", "ValidationLessThanError: not in range, min [0], but got [-2147483648]")]
    [InlineData("target -1", false, "field 'target_fd' has invalid value -1", "ValidationExprError: not matching the expression, got [-1]")]
    [InlineData("target -2^31", false, "field 'target_fd' has invalid value -2147483648", "ValidationExprError: not matching the expression, got [-2147483648]")]
    [InlineData("target repeated", false, "field 'target_fd' has invalid value 3", "ValidationExprError: not matching the expression, got [3]")]
    [InlineData("target repeated", true, "field 'target_fd' has invalid value 3", "ValidationExprError: not matching the expression, got [3]")]
    [InlineData("target descending", false, "field 'target_fd' has invalid value 2", "ValidationExprError: not matching the expression, got [2]")]
    [InlineData("target the fd", false, "field 'target_fd' has invalid value 5", "ValidationExprError: not matching the expression, got [5]")]
    [InlineData("count 3 of 2", false, "list 'reported_edges' claims 3 entries of 4 bytes but only 8 bytes remain", "EOFError: requested 4 bytes, but only 0 bytes available")]
    [InlineData("count 65536 of 2", false, "list 'reported_edges' claims 65536 entries of 4 bytes but only 8 bytes remain", "EOFError: requested 4 bytes, but only 0 bytes available")]
    [InlineData("count 65537", false, "list 'reported_edges' claims 65537 entries, over the limit of 65536", "ValidationGreaterThanError: not in range, max [65536], but got [65537]")]
    [InlineData("cut in an entry", false, "list 'reported_edges' claims 2 entries of 4 bytes but only 6 bytes remain", "EOFError: requested 4 bytes, but only 2 bytes available")]
    [InlineData("cut in the count", false, "field 'reported_edges.count' needs 4 bytes but only 2 remain", "EOFError: requested 4 bytes, but only 2 bytes available")]
    [InlineData("the fd alone", false, "field 'reported_edges.count' needs 4 bytes but only 0 remain", "EOFError: requested 4 bytes, but only 0 bytes available")]
    [InlineData("3 bytes", false, "field 'fd' needs 4 bytes but only 3 remain", "EOFError: requested 4 bytes, but only 3 bytes available")]
    [InlineData("0 bytes", false, "field 'fd' needs 4 bytes but only 0 remain", "EOFError: requested 4 bytes, but only 0 bytes available")]
    [InlineData("17 bytes", false, "1 unexpected bytes after the last field", "1 bytes after the last field of event_poll_idle")]
    [InlineData("a PIDF's 8 bytes", false, "list 'reported_edges' claims 4243 entries of 4 bytes but only 0 bytes remain", "EOFError: requested 4 bytes, but only 0 bytes available")]
    [InlineData("an EPOL's 24 bytes", false, "12 unexpected bytes after the last field", "12 bytes after the last field of event_poll_idle")]
    public async Task The_ksy_refuses_the_idle_epoll_marks_the_reader_refuses(string fault, bool critical, string csharpError, string kaitaiError)
    {
        var idle = new EventPollIdle(5, [3, 6]);
        // fd 0, reported_edges.count 4, target_fd 8 and 12: 16 bytes.
        byte[] payload = fault switch
        {
            "fd -1" => Patch(idle, 0, 0xff, 0xff, 0xff, 0xff),
            "fd -2^31" => Patch(idle, 0, 0, 0, 0, 0x80),
            "target -1" => Patch(idle, 8, 0xff, 0xff, 0xff, 0xff),
            "target -2^31" => Patch(idle, 12, 0, 0, 0, 0x80),
            "target repeated" => Patch(idle, 12, 3),
            "target descending" => Patch(idle, 12, 2),
            "target the fd" => Patch(idle, 8, 5),
            "count 3 of 2" => Patch(idle, 4, 3),
            "count 65536 of 2" => Patch(idle, 4, 0, 0, 1, 0),
            "count 65537" => Patch(idle, 4, 1, 0, 1, 0),
            "cut in an entry" => Patch(idle, 0)[..14],
            "cut in the count" => Patch(idle, 0)[..6],
            "the fd alone" => Patch(idle, 0)[..4],
            "3 bytes" => Patch(idle, 0)[..3],
            "0 bytes" => [],
            "17 bytes" => [.. Patch(idle, 0), 0],
            "a PIDF's 8 bytes" => Patch(new PidFd(5, 4243), 0),
            "an EPOL's 24 bytes" => Patch(new EventPollFile(5, [new EpollWatch(3, 0x8000_0019, 0)]), 0),
            _ => throw new ArgumentException(fault),
        };
        byte[] bytes = new RawCheckpoint().Begin("PROC")
            .Item(new ProcessInfo(7, 1, 7, 7, ProcessState.Alive, 0, 0, 0x12, 1, 0, 0, 0, 1, "p"u8.ToArray(), [], [], []))
            .Item(new EventPollFile(5, [new EpollWatch(3, 0x8000_0019, 0), new EpollWatch(6, 0x8000_0019, 0)]))
            .Frame("EPQT", critical ? ItemFlags.Critical : ItemFlags.None, payload).End("PROC").Complete();
        var rejected = Assert.Throws<CheckpointFormatException>(() => RawCheckpoint.ReadAll(bytes));
        Assert.Contains(csharpError, rejected.Message, StringComparison.Ordinal);

        var result = await KaitaiCrossCheck.RunScriptAsync(Write("epqt.cryo", bytes));

        Assert.True(result.ExitCode == 1, $"crosscheck.js accepted an EPQT the C# reader refuses ({rejected.Message}): exit {result.ExitCode}");
        Assert.True(result.Error.Contains("item #3 'EPQT'", StringComparison.Ordinal) && result.Error.Contains(kaitaiError, StringComparison.Ordinal), result.Error);
    }

    /// <summary>
    /// What the reader takes, both sides take: the smallest and largest descriptors and targets,
    /// values with a byte of each position set, one entry and many, an empty list (which writers
    /// do not write), a frame with the critical bit clear (as writers write it) and one with it
    /// set, and what the reader leaves to consumers (an EPQT with no EPOL of its fd before it, one
    /// that names a descriptor its EPOL does not watch) read the same through the .ksy as through
    /// the C# reader.
    /// </summary>
    [Fact]
    public async Task The_ksy_reads_the_idle_epoll_marks_the_reader_takes()
    {
        var marks = new[]
        {
            new EventPollIdle(5, [3, 6]), // after the EPOL of fd 5, both its edge-triggered watches
            new EventPollIdle(0, [1]),
            new EventPollIdle(int.MaxValue, [0, int.MaxValue - 1]),
            new EventPollIdle(0x7f, [0x80]),
            new EventPollIdle(0x80, [0x7f, 0xff00]),
            new EventPollIdle(0xff00, [0x00ff_0000]),
            new EventPollIdle(0x00ff_0000, [0x7f00_0000, int.MaxValue]),
            new EventPollIdle(0x7f00_0000, [.. Enumerable.Range(0, 1000).Select(i => i * 3)]), // a thousand entries
            new EventPollIdle(0, []), // an empty list: writers write no such EPQT, the reader takes it
            new EventPollIdle(9, [3]), // no EPOL of fd 9: the consumer's check, not the reader's
            new EventPollIdle(5, [4]), // fd 5's EPOL watches no fd 4: the consumer's check too
        };
        var raw = new RawCheckpoint().Begin("PROC")
            .Item(new ProcessInfo(7, 1, 7, 7, ProcessState.Alive, 0, 0, 0x12, 1, 0, 0, 0, 1, "p"u8.ToArray(), [], [], []))
            .Item(new EventPollFile(5, [new EpollWatch(3, 0x8000_0019, 0), new EpollWatch(6, 0x8000_0019, 0)]));
        foreach (var mark in marks) raw.Item(mark);
        raw.Frame("EPQT", ItemFlags.Critical, [6, 0, 0, 0, 1, 0, 0, 0, 3, 0, 0, 0]); // the bit set: decoded all the same
        byte[] bytes = raw.End("PROC").Complete();
        var read = RawCheckpoint.ReadAll(bytes);
        CheckpointItem[] expected = [.. marks, new EventPollIdle(6, [3])];
        Assert.All(expected.Zip(read.Skip(3)), pair => Assert.Null(ItemComparer.Difference(pair.First, pair.Second)));

        await KaitaiCrossCheck.AssertAgreeAsync(Write("epqt-ok.cryo", bytes));
    }

    /// <summary>
    /// PTMR's checks are in the .ksy too, those between fields included (a signal as notify wants
    /// it, a thread only for notify 2, no interval on a disarmed timer), and the clocks with
    /// Linux's negative numbers for the process's CPU-time clocks: a timer the C# reader refuses,
    /// the Kaitai side refuses too.
    /// </summary>
    [Theory]
    [InlineData(-1, 0, 0, 14u, 0, 1UL, 0UL, "id", "ValidationLessThanError: not in range, min [0], but got [-1]")]
    [InlineData(0, 2, 0, 14u, 0, 1UL, 0UL, "clock_id", "ValidationNotInEnumError: not in the enum, got [2]")] // CLOCK_PROCESS_CPUTIME_ID as a program names it
    [InlineData(0, -2, 0, 14u, 0, 1UL, 0UL, "clock_id", "ValidationNotInEnumError: not in the enum, got [-2]")] // a thread's CPU-time clock
    [InlineData(0, -5, 0, 14u, 0, 1UL, 0UL, "clock_id", "ValidationNotInEnumError: not in the enum, got [-5]")]
    [InlineData(0, 0, 3, 14u, 0, 1UL, 0UL, "notify", "ValidationNotInEnumError: not in the enum, got [3]")]
    [InlineData(0, 0, 4, 14u, 5, 1UL, 0UL, "notify", "ValidationNotInEnumError: not in the enum, got [4]")] // Linux's SIGEV_THREAD_ID
    [InlineData(0, 0, 0, 0u, 0, 1UL, 0UL, "signal", "ValidationExprError: not matching the expression, got [0]")] // a signal to the process needs one
    [InlineData(0, -6, 2, 0u, 5, 1UL, 0UL, "signal", "ValidationExprError: not matching the expression, got [0]")]
    [InlineData(0, 0, 1, 65u, 0, 1UL, 0UL, "signal", "ValidationExprError: not matching the expression, got [65]")] // no notification: 0 … 64
    [InlineData(0, 0, 2, 14u, 0, 1UL, 0UL, "thread_id", "ValidationExprError: not matching the expression, got [0]")] // a signal to a thread names one
    [InlineData(0, 0, 2, 14u, -1, 1UL, 0UL, "thread_id", "ValidationExprError: not matching the expression, got [-1]")]
    [InlineData(0, 0, 0, 14u, 5, 1UL, 0UL, "thread_id", "ValidationExprError: not matching the expression, got [5]")]
    [InlineData(0, -8, 1, 0u, 5, 1UL, 0UL, "thread_id", "ValidationExprError: not matching the expression, got [5]")]
    [InlineData(0, 11, 0, 14u, 0, 0UL, 1UL, "interval_ns", "ValidationExprError: not matching the expression, got [1]")] // disarmed, with a period
    public async Task The_ksy_refuses_the_posix_timers_the_reader_refuses(int id, int clock, byte notify, uint signal, int thread, ulong value, ulong interval,
        string field, string kaitaiError)
    {
        var payload = new PayloadWriter();
        payload.I32(id); payload.I32(clock); payload.U8(notify); payload.U32(signal); payload.U64(0x7fff_ffff_f000); payload.I32(thread);
        payload.U64(value); payload.U64(interval);
        byte[] bytes = new RawCheckpoint().Begin("PROC")
            .Item(new ProcessInfo(7, 1, 7, 7, ProcessState.Alive, 0, 0, 0x12, 1, 0, 0, 0, 1, "p"u8.ToArray(), [], [], []))
            .Frame("PTMR", ItemFlags.Critical, payload.Written.ToArray()).End("PROC").Complete();
        var rejected = Assert.Throws<CheckpointFormatException>(() => RawCheckpoint.ReadAll(bytes));
        Assert.Contains($"field '{field}'", rejected.Message, StringComparison.Ordinal);

        var result = await KaitaiCrossCheck.RunScriptAsync(Write("ptmr.cryo", bytes));

        Assert.True(result.ExitCode == 1, $"crosscheck.js accepted a PTMR the C# reader refuses ({rejected.Message}): exit {result.ExitCode}");
        Assert.True(result.Error.Contains("item #2 'PTMR'", StringComparison.Ordinal) && result.Error.Contains(kaitaiError, StringComparison.Ordinal), result.Error);
    }

    /// <summary>
    /// SHMS's checks are in the .ksy, the one between fields included (a destroyed segment has key
    /// 0, which the .ksy checks on `mode` and the C# reader reports on `key`), and so are MADV's
    /// new process flags with their pairs and AREA's kinds 10 and 11: what the C# reader refuses, the
    /// Kaitai side refuses too.
    /// </summary>
    [Theory]
    [InlineData("SHMS", "id", "ValidationLessThanError: not in range, min [0], but got [-1]", -1, 0, 1UL, 0x180u, 1)]
    [InlineData("SHMS", "size", "ValidationLessThanError: not in range, min [1], but got [0]", 0, 0, 0UL, 0x180u, 1)]
    [InlineData("SHMS", "mode", "ValidationExprError: not matching the expression, got [2048]", 0, 0, 1UL, 0x800u, 1)]
    [InlineData("SHMS", "mode", "ValidationExprError: not matching the expression, got [4096]", 0, 0, 1UL, 0x1000u, 1)]
    [InlineData("SHMS", "key", "ValidationExprError: not matching the expression, got [896]", 0, 0xbeef, 1UL, 0x380u, 1)] // destroyed, with a key
    [InlineData("SHMS", "key", "ValidationExprError: not matching the expression, got [512]", 0, -1, 1UL, 0x200u, 1)]
    [InlineData("SHMS", "creator_pid", "ValidationLessThanError: not in range, min [1], but got [0]", 0, 0, 1UL, 0x180u, 0)]
    [InlineData("SHMS", "creator_pid", "ValidationLessThanError: not in range, min [1], but got [-1]", 0, 0, 1UL, 0x180u, -1)]
    [InlineData("MADV", "process_flags", "ValidationExprError: not matching the expression, got [1024]", 0, 0, 0UL, 0x400u, 0)]
    [InlineData("MADV", "process_flags", "ValidationExprError: not matching the expression, got [4]", 0, 0, 0UL, 0x4u, 0)] // no-inherit without refuse-exec-gain
    [InlineData("MADV", "process_flags", "ValidationExprError: not matching the expression, got [16]", 0, 0, 0UL, 0x10u, 0)] // on fault without lock-future
    [InlineData("AREA", "kind", "ValidationNotInEnumError: not in the enum, got [12]", 0, 0, 0UL, 12u, 0)]
    public async Task The_ksy_refuses_the_segments_process_flags_and_area_kinds_the_reader_refuses(string tag, string field, string kaitaiError,
        int id, int key, ulong size, uint value, int creatorPid)
    {
        var payload = new PayloadWriter();
        switch (tag)
        {
            case "SHMS": // value is the mode
                payload.I32(id); payload.I32(key); payload.U64(size); payload.U32(value); payload.U32(1000); payload.U32(100);
                payload.U32(1000); payload.U32(100); payload.I32(creatorPid); payload.I64(1_767_225_600);
                break;
            case "MADV": // value is process_flags
                payload.U32(value); payload.Count(0);
                break;
            default: // AREA, value is the kind
                new MemoryArea(0x7f12_3456_7000, 0x7f12_3456_8000, 0, MemoryArea.ProtRead, MemoryArea.MapShared, MemoryAreaKind.SysVShared,
                    1, 7, "/SYSV00000000 (deleted)"u8.ToArray(), []).Encode(payload);
                break;
        }
        byte[] frame = payload.Written.ToArray();
        if (tag == "AREA") frame[32] = (byte)value;
        byte[] bytes = new RawCheckpoint().Begin("PROC")
            .Item(new ProcessInfo(7, 1, 7, 7, ProcessState.Alive, 0, 0, 0x12, 1, 0, 0, 0, 1, "p"u8.ToArray(), [], [], []))
            .Frame(tag, ItemFlags.Critical, frame).End("PROC").Complete();
        var rejected = Assert.Throws<CheckpointFormatException>(() => RawCheckpoint.ReadAll(bytes));
        Assert.Contains($"field '{field}'", rejected.Message, StringComparison.Ordinal);

        var result = await KaitaiCrossCheck.RunScriptAsync(Write("rule.cryo", bytes));

        Assert.True(result.ExitCode == 1, $"crosscheck.js accepted a {tag} the C# reader refuses ({rejected.Message}): exit {result.ExitCode}");
        Assert.True(result.Error.Contains($"item #2 '{tag}'", StringComparison.Ordinal) && result.Error.Contains(kaitaiError, StringComparison.Ordinal), result.Error);
    }

    /// <summary>
    /// MEMF's checks that fit a Kaitai description are in the .ksy (an object id not 0, the seal
    /// bits, a regular file's type bits, the name's length), and so are MDAT's non-empty data and
    /// FDES's kinds (9 and 10 the last): what the C# reader refuses there, the Kaitai side refuses too. (A size or an
    /// MDAT end of 2^63 and more, and a name with NUL or '/', are the C# reader's alone: the .ksy
    /// says so.)
    /// </summary>
    [Theory]
    [InlineData("MEMF", "object_id 0", "field 'object_id' has invalid value 0", "ValidationLessThanError: not in range, min [1], but got [0]")]
    [InlineData("MEMF", "seals 0x40", "field 'seals' has invalid value 0x40", "ValidationGreaterThanError: not in range, max [63], but got [64]")]
    [InlineData("MEMF", "seals 0x8000003f", "field 'seals' has invalid value 0x8000003f", "ValidationGreaterThanError: not in range, max [63], but got [2147483711]")]
    [InlineData("MEMF", "mode 0x41ed", "field 'mode' has invalid value 0x41ed", "ValidationExprError: not matching the expression, got [16877]")] // a directory
    [InlineData("MEMF", "mode 0x1b6", "field 'mode' has invalid value 0x1b6", "ValidationExprError: not matching the expression, got [438]")] // no type bits
    [InlineData("MEMF", "mode 0xa1ff", "field 'mode' has invalid value 0xa1ff", "ValidationExprError: not matching the expression, got [41471]")] // a symbolic link
    [InlineData("MEMF", "name of 250 bytes", "field 'name' has invalid value 250", "ValidationGreaterThanError: not in range, max [249], but got [250]")]
    [InlineData("MDAT", "no data", "an MDAT item holds at least one page", "ValidationExprError: not matching the expression")]
    [InlineData("FDES", "kind 11", "field 'kind' has invalid value 11", "ValidationNotInEnumError: not in the enum, got [11]")]
    public async Task The_ksy_refuses_the_memfd_items_the_reader_refuses(string tag, string fault, string csharpError, string kaitaiError)
    {
        var memfd = new MemfdObject(4242, 1, 10_000, MemfdObject.SealSeal, 0x81b6, 1000, 100, "ring"u8.ToArray());
        var fd = new FileDescriptor(3, FileKind.Memfd, 0, 0x8002, 0, 0x81b6, 1, 4242, 0, 1, 0, "/memfd:ring (deleted)"u8.ToArray());
        byte[] payload = fault switch
        {
            "object_id 0" => Patch(memfd, 0, 0, 0),
            "seals 0x40" => Patch(memfd, 24, 0x40),
            "seals 0x8000003f" => Patch(memfd, 24, 0x3f, 0, 0, 0x80),
            "mode 0x41ed" => Patch(memfd, 28, 0xed, 0x41),
            "mode 0x1b6" => Patch(memfd, 28, 0xb6, 0x01),
            "mode 0xa1ff" => Patch(memfd, 28, 0xff, 0xa1),
            "name of 250 bytes" => Patch(memfd with { Name = [.. Enumerable.Repeat((byte)'n', 250)] }, 0),
            "no data" => Patch(new MemfdData(4242, 0, Array.Empty<byte>()), 0),
            "kind 11" => Patch(fd, 4, 11),
            _ => throw new ArgumentException(fault),
        };
        byte[] bytes = new RawCheckpoint().Begin("PROC")
            .Item(new ProcessInfo(7, 1, 7, 7, ProcessState.Alive, 0, 0, 0x12, 1, 0, 0, 0, 1, "p"u8.ToArray(), [], [], []))
            .Frame(tag, ItemFlags.Critical, payload).End("PROC").Complete();
        var rejected = Assert.Throws<CheckpointFormatException>(() => RawCheckpoint.ReadAll(bytes));
        Assert.Contains(csharpError, rejected.Message, StringComparison.Ordinal);

        var result = await KaitaiCrossCheck.RunScriptAsync(Write("memfd.cryo", bytes));

        Assert.True(result.ExitCode == 1, $"crosscheck.js accepted a {tag} the C# reader refuses ({rejected.Message}): exit {result.ExitCode}");
        Assert.True(result.Error.Contains($"item #2 '{tag}'", StringComparison.Ordinal) && result.Error.Contains(kaitaiError, StringComparison.Ordinal), result.Error);
    }

    /// <summary>
    /// DELF's checks are in the .ksy (an object id not 0, a regular file's type bits, and the path's: at
    /// least 2 bytes, the first '/', the last not '/', no NUL): what the C# reader refuses, the Kaitai
    /// side refuses too. (A size of 2^63 and more is the C# reader's alone: the .ksy says so.)
    /// </summary>
    [Theory]
    [InlineData("object_id 0", "field 'object_id' has invalid value 0", "ValidationLessThanError: not in range, min [1], but got [0]")]
    [InlineData("mode 0x41ed", "field 'mode' has invalid value 0x41ed", "ValidationExprError: not matching the expression, got [16877]")] // a directory
    [InlineData("mode 0x1b6", "field 'mode' has invalid value 0x1b6", "ValidationExprError: not matching the expression, got [438]")] // no type bits
    [InlineData("mode 0xa1ff", "field 'mode' has invalid value 0xa1ff", "ValidationExprError: not matching the expression, got [41471]")] // a symbolic link
    [InlineData("path empty", "field 'path' has invalid value", "ValidationLessThanError: not in range, min [2], but got [0]")]
    [InlineData("path /", "field 'path' has invalid value", "ValidationLessThanError: not in range, min [2], but got [1]")]
    [InlineData("path relative", "field 'path' has invalid value", "ValidationExprError: not matching the expression")]
    [InlineData("path ending in /", "field 'path' has invalid value", "ValidationExprError: not matching the expression")]
    [InlineData("path //", "field 'path' has invalid value", "ValidationExprError: not matching the expression")]
    [InlineData("path with NUL", "field 'path' has invalid value", "ValidationExprError: not matching the expression")]
    [InlineData("path ending in NUL", "field 'path' has invalid value", "ValidationExprError: not matching the expression")]
    [InlineData("path of 4097 bytes", "field 'path' is 4097 bytes long, over the limit of 4096", "ValidationGreaterThanError: not in range, max [4096], but got [4097]")]
    public async Task The_ksy_refuses_the_deleted_files_the_reader_refuses(string fault, string csharpError, string kaitaiError)
    {
        var deleted = new DeletedFile(4211, 0x801, 10_000, 0x8180, 1000, 100, "/tmp/#4211"u8.ToArray());
        byte[] WithPath(string path) => Patch(deleted with { Path = System.Text.Encoding.UTF8.GetBytes(path) }, 0);
        byte[] payload = fault switch
        {
            "object_id 0" => Patch(deleted, 0, 0, 0),
            "mode 0x41ed" => Patch(deleted, 24, 0xed, 0x41),
            "mode 0x1b6" => Patch(deleted, 24, 0xb6, 0x01),
            "mode 0xa1ff" => Patch(deleted, 24, 0xff, 0xa1),
            "path empty" => WithPath(""),
            "path /" => WithPath("/"),
            "path relative" => WithPath("tmp/x"),
            "path ending in /" => WithPath("/tmp/"),
            "path //" => WithPath("//"),
            "path with NUL" => WithPath("/tmp/a\0b"),
            "path ending in NUL" => WithPath("/tmp/x\0"),
            "path of 4097 bytes" => Patch(deleted, 36, 0x01, 0x10), // the length alone: the reader stops before the bytes
            _ => throw new ArgumentException(fault),
        };
        byte[] bytes = new RawCheckpoint().Begin("PROC")
            .Item(new ProcessInfo(7, 1, 7, 7, ProcessState.Alive, 0, 0, 0x12, 1, 0, 0, 0, 1, "p"u8.ToArray(), [], [], []))
            .Frame("DELF", ItemFlags.Critical, payload).End("PROC").Complete();
        var rejected = Assert.Throws<CheckpointFormatException>(() => RawCheckpoint.ReadAll(bytes));
        Assert.Contains(csharpError, rejected.Message, StringComparison.Ordinal);

        var result = await KaitaiCrossCheck.RunScriptAsync(Write("delf.cryo", bytes));

        Assert.True(result.ExitCode == 1, $"crosscheck.js accepted a DELF the C# reader refuses ({rejected.Message}): exit {result.ExitCode}");
        Assert.True(result.Error.Contains("item #2 'DELF'", StringComparison.Ordinal) && result.Error.Contains(kaitaiError, StringComparison.Ordinal), result.Error);
    }

    /// <summary>
    /// DCWD's checks are all in the .ksy (the path's: at least 2 bytes, the first '/', no NUL; a
    /// directory's type bits), and a payload cut short or too long is refused by both: what the C#
    /// reader refuses, the Kaitai side refuses too. (The C# reader judges the path's length after its
    /// bytes, the .ksy at `len_path`: both refuse the same payloads.)
    /// </summary>
    [Theory]
    [InlineData("path empty", "field 'path' has invalid value \"\"", "ValidationLessThanError: not in range, min [2], but got [0]")]
    [InlineData("path /", "field 'path' has invalid value \"/\"", "ValidationLessThanError: not in range, min [2], but got [1]")]
    [InlineData("path of one byte, relative", "field 'path' has invalid value \"a\"", "ValidationLessThanError: not in range, min [2], but got [1]")]
    [InlineData("path relative", "field 'path' has invalid value \"srv/job\"", "ValidationExprError: not matching the expression")]
    [InlineData("path with NUL", "field 'path' has invalid value \"/srv/a\\0b\"", "ValidationExprError: not matching the expression")]
    [InlineData("path ending in NUL", "field 'path' has invalid value \"/srv/job\\0\"", "ValidationExprError: not matching the expression")]
    [InlineData("path / and NUL", "field 'path' has invalid value \"/\\0\"", "ValidationExprError: not matching the expression")]
    [InlineData("path of 4097 bytes", "field 'path' is 4097 bytes long, over the limit of 4096", "ValidationGreaterThanError: not in range, max [4096], but got [4097]")]
    [InlineData("mode 0x81a4", "field 'mode' has invalid value 0100644", "ValidationExprError: not matching the expression, got [33188]")] // a regular file
    [InlineData("mode 0x1ed", "field 'mode' has invalid value 0755", "ValidationExprError: not matching the expression, got [493]")] // no type bits
    [InlineData("mode 0x61b0", "field 'mode' has invalid value 060660", "ValidationExprError: not matching the expression, got [25008]")] // a block device: 0x4000 set, not the type
    [InlineData("mode 0xc1ed", "field 'mode' has invalid value 0140755", "ValidationExprError: not matching the expression, got [49645]")] // a socket
    [InlineData("mode 0xa1ff", "field 'mode' has invalid value 0120777", "ValidationExprError: not matching the expression, got [41471]")] // a symbolic link
    [InlineData("mode 2^32 - 1", "field 'mode' has invalid value 037777777777", "ValidationExprError: not matching the expression, got [4294967295]")]
    [InlineData("1 byte", "field 'path.length' needs 2 bytes but only 1 remain", "EOFError: requested 2 bytes, but only 1 bytes available")]
    [InlineData("path cut short", "field 'path' needs 8 bytes but only 7 remain", "EOFError: requested 8 bytes, but only 7 bytes available")]
    [InlineData("no mode", "field 'mode' needs 4 bytes but only 0 remain", "EOFError: requested 4 bytes, but only 0 bytes available")]
    [InlineData("gid cut short", "field 'gid' needs 4 bytes but only 3 remain", "EOFError: requested 4 bytes, but only 3 bytes available")]
    [InlineData("a byte too many", "1 unexpected bytes after the last field", "1 bytes after the last field of deleted_working_directory")]
    public async Task The_ksy_refuses_the_deleted_working_directories_the_reader_refuses(string fault, string csharpError, string kaitaiError)
    {
        var deleted = new DeletedWorkingDirectory("/srv/job"u8.ToArray(), 0x41ed, 1000, 100);
        // path 0 (its length, then its 8 bytes at 2), mode 10, uid 14, gid 18: 22 bytes.
        byte[] WithPath(string path) => Patch(deleted with { Path = System.Text.Encoding.UTF8.GetBytes(path) }, 0);
        byte[] payload = fault switch
        {
            "path empty" => WithPath(""),
            "path /" => WithPath("/"),
            "path of one byte, relative" => WithPath("a"),
            "path relative" => WithPath("srv/job"),
            "path with NUL" => WithPath("/srv/a\0b"),
            "path ending in NUL" => WithPath("/srv/job\0"),
            "path / and NUL" => WithPath("/\0"),
            "path of 4097 bytes" => Patch(deleted, 0, 0x01, 0x10), // the length alone: the reader stops before the bytes
            "mode 0x81a4" => Patch(deleted, 10, 0xa4, 0x81),
            "mode 0x1ed" => Patch(deleted, 10, 0xed, 0x01),
            "mode 0x61b0" => Patch(deleted, 10, 0xb0, 0x61),
            "mode 0xc1ed" => Patch(deleted, 10, 0xed, 0xc1),
            "mode 0xa1ff" => Patch(deleted, 10, 0xff, 0xa1),
            "mode 2^32 - 1" => Patch(deleted, 10, 0xff, 0xff, 0xff, 0xff),
            "1 byte" => Patch(deleted, 0)[..1],
            "path cut short" => Patch(deleted, 0)[..9],
            "no mode" => Patch(deleted, 0)[..10],
            "gid cut short" => Patch(deleted, 0)[..21],
            "a byte too many" => [.. Patch(deleted, 0), 0],
            _ => throw new ArgumentException(fault),
        };
        byte[] bytes = new RawCheckpoint().Begin("PROC")
            .Item(new ProcessInfo(7, 1, 7, 7, ProcessState.Alive, 0, 0, 0x12, 1, 0, 0, 0, 1, "p"u8.ToArray(), [], "/srv/job"u8.ToArray(), []))
            .Frame("DCWD", ItemFlags.Critical, payload).End("PROC").Complete();
        var rejected = Assert.Throws<CheckpointFormatException>(() => RawCheckpoint.ReadAll(bytes));
        Assert.Contains(csharpError, rejected.Message, StringComparison.Ordinal);

        var result = await KaitaiCrossCheck.RunScriptAsync(Write("dcwd.cryo", bytes));

        Assert.True(result.ExitCode == 1, $"crosscheck.js accepted a DCWD the C# reader refuses ({rejected.Message}): exit {result.ExitCode}");
        Assert.True(result.Error.Contains("item #2 'DCWD'", StringComparison.Ordinal) && result.Error.Contains(kaitaiError, StringComparison.Ordinal), result.Error);
    }

    /// <summary>
    /// What the reader takes, both sides take: the shortest and longest paths (every byte but NUL),
    /// a bare S_IFDIR mode and every mode bit, bits above the mode's 16 (the reader checks the type
    /// bits only), the largest owner, and what the reader leaves to writers and consumers (a path
    /// ending in '/', "//", a DCWD with no PINF before it, two in a row, one whose path is not the
    /// PINF's cwd) read the same through the .ksy as through the C# reader.
    /// </summary>
    [Fact]
    public async Task The_ksy_reads_the_deleted_working_directories_the_reader_takes()
    {
        byte[] longest = [(byte)'/', .. Enumerable.Range(0, FormatLimits.MaxBytesString - 1).Select(i => (byte)(1 + i % 255))];
        var directories = new[]
        {
            new DeletedWorkingDirectory("/srv/job"u8.ToArray(), 0x41ed, 1000, 100),
            new DeletedWorkingDirectory("/a"u8.ToArray(), 0x4000, 0, 0),
            new DeletedWorkingDirectory(longest, 0x4fff, uint.MaxValue, uint.MaxValue),
            new DeletedWorkingDirectory("/tmp/x (deleted)"u8.ToArray(), 0xffff_4fff, 0x8000_0000, 0x7fff_ffff),
            new DeletedWorkingDirectory("/srv/job/"u8.ToArray(), 0x41c0, 1, 2), // writers never write these two: Linux shows no trailing '/'
            new DeletedWorkingDirectory("//"u8.ToArray(), 0x43ff, 3, 4),
        };
        var raw = new RawCheckpoint().Begin("PROC")
            .Item(new ProcessInfo(7, 1, 7, 7, ProcessState.Alive, 0, 0, 0x12, 1, 0, 0, 0, 1, "p"u8.ToArray(), [], "/srv/job"u8.ToArray(), []));
        foreach (var directory in directories) raw.Item(directory);
        byte[] bytes = raw.End("PROC").Begin("PROC").Item(directories[1]).End("PROC").Complete();
        var read = RawCheckpoint.ReadAll(bytes);
        for (int i = 0; i < directories.Length; i++) Assert.Null(ItemComparer.Difference(directories[i], read[2 + i]));
        Assert.Equal(longest, Assert.IsType<DeletedWorkingDirectory>(read[4]).Path);
        Assert.Null(ItemComparer.Difference(directories[1], read[^2]));

        await KaitaiCrossCheck.AssertAgreeAsync(Write("dcwd-ok.cryo", bytes));
    }

    /// <summary>
    /// USCK's checks are all in the .ksy (a descriptor not negative, a socket id not 0, a peer that is
    /// not the socket itself, compared exactly above 2^53, the three types, the shut-down and option
    /// bits, a peek offset of -1 or more), and a UDAT too short for its socket id is refused by both:
    /// what the C# reader refuses, the Kaitai side refuses too. (An empty UDAT is a message, which
    /// both take: the edge sample has one.)
    /// </summary>
    [Theory]
    [InlineData("USCK", "fd -1", "field 'fd' has invalid value -1", "ValidationLessThanError: not in range, min [0], but got [-1]")]
    [InlineData("USCK", "socket_id 0", "field 'socket_id' has invalid value 0", "ValidationLessThanError: not in range, min [1], but got [0]")]
    [InlineData("USCK", "peer_id = socket_id", "field 'peer_id' has invalid value 88123", "ValidationExprError: not matching the expression, got [88123]")]
    [InlineData("USCK", "peer_id = socket_id = 2^64 - 1", "field 'peer_id' has invalid value 18446744073709551615",
        "ValidationExprError: not matching the expression, got [18446744073709551615]")]
    [InlineData("USCK", "type 0", "field 'type' has invalid value 0", "ValidationNotInEnumError: not in the enum, got [0]")]
    [InlineData("USCK", "type 3", "field 'type' has invalid value 3", "ValidationNotInEnumError: not in the enum, got [3]")]
    [InlineData("USCK", "shutdown 4", "field 'shutdown' has invalid value 4", "ValidationGreaterThanError: not in range, max [3], but got [4]")]
    [InlineData("USCK", "options 2", "field 'options' has invalid value 0x2", "ValidationGreaterThanError: not in range, max [1], but got [2]")]
    [InlineData("USCK", "peek_offset -2", "field 'peek_offset' has invalid value -2", "ValidationLessThanError: not in range, min [-1], but got [-2]")]
    [InlineData("UDAT", "7 bytes", "field 'socket_id' needs 8 bytes but only 7 remain", "EOFError: requested 8 bytes, but only 7 bytes available")]
    public async Task The_ksy_refuses_the_unix_socket_items_the_reader_refuses(string tag, string fault, string csharpError, string kaitaiError)
    {
        var socket = new UnixSocket(5, 88123, 88124, UnixSocketType.Stream, UnixSocket.SendShut, 212_992, 212_992, UnixSocket.PassCredentials, -1, 5);
        byte[] payload = fault switch
        {
            "fd -1" => Patch(socket, 0, 0xff, 0xff, 0xff, 0xff),
            "socket_id 0" => Patch(socket, 4, 0, 0, 0, 0, 0, 0, 0, 0),
            "peer_id = socket_id" => Patch(socket with { PeerId = socket.SocketId }, 0),
            "peer_id = socket_id = 2^64 - 1" => Patch(socket with { SocketId = ulong.MaxValue, PeerId = ulong.MaxValue }, 0),
            "type 0" => Patch(socket, 20, 0),
            "type 3" => Patch(socket, 20, 3),
            "shutdown 4" => Patch(socket, 21, 4),
            "options 2" => Patch(socket, 30, 2),
            "peek_offset -2" => Patch(socket, 34, 0xfe, 0xff, 0xff, 0xff),
            "7 bytes" => Patch(new UnixSocketData(88123, "abc"u8.ToArray()), 0)[..7],
            _ => throw new ArgumentException(fault),
        };
        byte[] bytes = new RawCheckpoint().Begin("PROC")
            .Item(new ProcessInfo(7, 1, 7, 7, ProcessState.Alive, 0, 0, 0x12, 1, 0, 0, 0, 1, "p"u8.ToArray(), [], [], []))
            .Frame(tag, ItemFlags.Critical, payload).End("PROC").Complete();
        var rejected = Assert.Throws<CheckpointFormatException>(() => RawCheckpoint.ReadAll(bytes));
        Assert.Contains(csharpError, rejected.Message, StringComparison.Ordinal);

        var result = await KaitaiCrossCheck.RunScriptAsync(Write("usck.cryo", bytes));

        Assert.True(result.ExitCode == 1, $"crosscheck.js accepted a {tag} the C# reader refuses ({rejected.Message}): exit {result.ExitCode}");
        Assert.True(result.Error.Contains($"item #2 '{tag}'", StringComparison.Ordinal) && result.Error.Contains(kaitaiError, StringComparison.Ordinal), result.Error);
    }

    /// <summary>
    /// ULSN's checks are all in the .ksy (a descriptor not negative, type 1 or 5, a name of 1 … 108
    /// bytes, a socket file's inode with a path and none with an abstract name, no option bit but
    /// SO_PASSCRED), and a payload cut short or too long is refused by both: what the C# reader
    /// refuses, the Kaitai side refuses too. (The C# reader judges the name's length after its
    /// bytes, the .ksy at `len_name`: both refuse the same payloads.)
    /// </summary>
    [Theory]
    [InlineData("fd -1", "field 'fd' has invalid value -1", "ValidationLessThanError: not in range, min [0], but got [-1]")]
    [InlineData("type 0", "field 'type' has invalid value 0", "ValidationExprError: not matching the expression, got [0]")]
    [InlineData("type 2", "field 'type' has invalid value 2", "ValidationExprError: not matching the expression, got [2]")] // SOCK_DGRAM
    [InlineData("type 3", "field 'type' has invalid value 3", "ValidationExprError: not matching the expression, got [3]")]
    [InlineData("empty name", "field 'name' has invalid value 0", "ValidationLessThanError: not in range, min [1], but got [0]")]
    [InlineData("name of 109 bytes", "field 'name' has invalid value 109", "ValidationGreaterThanError: not in range, max [108], but got [109]")]
    [InlineData("abstract name with an inode", "field 'file_inode' has invalid value 91500", "ValidationExprError: not matching the expression, got [91500]")]
    [InlineData("abstract name with inode 2^64 - 1", "field 'file_inode' has invalid value 18446744073709551615",
        "ValidationExprError: not matching the expression, got [18446744073709551615]")]
    [InlineData("path with inode 0", "field 'file_inode' has invalid value 0", "ValidationExprError: not matching the expression, got [0]")]
    [InlineData("options 2", "field 'options' has invalid value 0x2", "ValidationGreaterThanError: not in range, max [1], but got [2]")]
    [InlineData("options 0x80000001", "field 'options' has invalid value 0x80000001", "ValidationGreaterThanError: not in range, max [1], but got [2147483649]")]
    [InlineData("65 bytes", "field 'file_gid' needs 4 bytes but only 3 remain", "EOFError: requested 4 bytes, but only 3 bytes available")]
    [InlineData("29 bytes", "field 'name' needs 23 bytes but only 22 remain", "EOFError: requested 23 bytes, but only 22 bytes available")]
    [InlineData("67 bytes", "1 unexpected bytes after the last field", "1 bytes after the last field of unix_listener")]
    public async Task The_ksy_refuses_the_unix_listeners_the_reader_refuses(string fault, string csharpError, string kaitaiError)
    {
        var socket = new UnixListener(5, UnixSocketType.Stream, "/run/cryo-test/ctl.sock"u8.ToArray(), 128, UnixSocket.PassCredentials, 0x803, 91_500,
            0xc1ed, 1000, 100);
        var abstractName = new UnixListener(5, UnixSocketType.SeqPacket, [0, .. "cryo"u8], 128, 0, 0, 0, 0, 0, 0);
        // A name of 23 bytes: fd 0, type 4, name 5 (its bytes at 7), backlog 30, options 34, file_device 38, file_inode 46, file_mode 54,
        // file_uid 58, file_gid 62; 66 bytes in all.
        byte[] payload = fault switch
        {
            "fd -1" => Patch(socket, 0, 0xff, 0xff, 0xff, 0xff),
            "type 0" => Patch(socket, 4, 0),
            "type 2" => Patch(socket, 4, 2),
            "type 3" => Patch(socket, 4, 3),
            "empty name" => Patch(socket with { Name = [] }, 0),
            "name of 109 bytes" => Patch(socket with { Name = [(byte)'/', .. Enumerable.Repeat((byte)'x', 108)] }, 0),
            "abstract name with an inode" => Patch(abstractName with { FileInode = 91_500 }, 0),
            "abstract name with inode 2^64 - 1" => Patch(abstractName with { FileInode = ulong.MaxValue }, 0),
            "path with inode 0" => Patch(socket with { FileInode = 0 }, 0),
            "options 2" => Patch(socket, 34, 2),
            "options 0x80000001" => Patch(socket, 34, 1, 0, 0, 0x80),
            "65 bytes" => Patch(socket, 0)[..65],
            "29 bytes" => Patch(socket, 0)[..29],
            "67 bytes" => [.. Patch(socket, 0), 0],
            _ => throw new ArgumentException(fault),
        };
        byte[] bytes = new RawCheckpoint().Begin("PROC")
            .Item(new ProcessInfo(7, 1, 7, 7, ProcessState.Alive, 0, 0, 0x12, 1, 0, 0, 0, 1, "p"u8.ToArray(), [], [], []))
            .Frame("ULSN", ItemFlags.Critical, payload).End("PROC").Complete();
        var rejected = Assert.Throws<CheckpointFormatException>(() => RawCheckpoint.ReadAll(bytes));
        Assert.Contains(csharpError, rejected.Message, StringComparison.Ordinal);

        var result = await KaitaiCrossCheck.RunScriptAsync(Write("ulsn.cryo", bytes));

        Assert.True(result.ExitCode == 1, $"crosscheck.js accepted a ULSN the C# reader refuses ({rejected.Message}): exit {result.ExitCode}");
        Assert.True(result.Error.Contains("item #2 'ULSN'", StringComparison.Ordinal) && result.Error.Contains(kaitaiError, StringComparison.Ordinal), result.Error);
    }

    /// <summary>
    /// What the reader takes, both sides take: the shortest and longest names of both kinds, an
    /// abstract name with NULs inside and last, and what the reader leaves to writers and consumers
    /// (a relative path, a path with a NUL inside, an abstract name with a device, mode and owner)
    /// read the same through the .ksy as through the C# reader.
    /// </summary>
    [Fact]
    public async Task The_ksy_reads_the_unix_listeners_the_reader_takes()
    {
        var listeners = new[]
        {
            new UnixListener(5, UnixSocketType.Stream, "/run/cryo-test/ctl.sock"u8.ToArray(), 128, UnixSocket.PassCredentials, 0x803, 91_500, 0xc1ed, 1000, 100),
            new UnixListener(0, UnixSocketType.SeqPacket, "/"u8.ToArray(), 0, 0, 0, 1, 0, 0, 0),
            new UnixListener(int.MaxValue, UnixSocketType.Stream, [(byte)'/', .. Enumerable.Range(0x80, 107).Select(i => (byte)i)], uint.MaxValue,
                UnixSocket.PassCredentials, ulong.MaxValue, ulong.MaxValue, uint.MaxValue, uint.MaxValue, uint.MaxValue),
            new UnixListener(1, UnixSocketType.Stream, [0], 1, 0, 0, 0, 0, 0, 0),
            new UnixListener(2, UnixSocketType.SeqPacket, [0, .. new byte[106], 0xff], 4096, 0, 0, 0, 0, 0, 0),
            new UnixListener(3, UnixSocketType.Stream, "run/relative.sock"u8.ToArray(), 5, 0, 0x803, 77, 0xc1ff, 0, 0),
            new UnixListener(4, UnixSocketType.Stream, "/tmp/a\0b"u8.ToArray(), 5, 0, 0x803, 78, 0xc1ff, 0, 0),
            new UnixListener(6, UnixSocketType.SeqPacket, [0, .. "x"u8, 0], 5, 0, 0x803, 0, 0xc1ff, 1000, 100),
        };
        var raw = new RawCheckpoint().Begin("PROC")
            .Item(new ProcessInfo(7, 1, 7, 7, ProcessState.Alive, 0, 0, 0x12, 1, 0, 0, 0, 1, "p"u8.ToArray(), [], [], []));
        foreach (var listener in listeners) raw.Item(listener);
        byte[] bytes = raw.End("PROC").Complete();
        var read = RawCheckpoint.ReadAll(bytes);
        for (int i = 0; i < listeners.Length; i++) Assert.Null(ItemComparer.Difference(listeners[i], read[2 + i]));
        Assert.Equal([false, false, false, true, true, false, false, true], read.Skip(2).Take(listeners.Length).Select(l => ((UnixListener)l).IsAbstract));

        await KaitaiCrossCheck.AssertAgreeAsync(Write("ulsn-ok.cryo", bytes));
    }

    /// <summary>
    /// USNM's checks are all in the .ksy (a socket id not 0, a name of 1 … 108 bytes, no NUL in a
    /// path, compared exactly above 2^53), and a payload cut short or too long is refused by both:
    /// what the C# reader refuses, the Kaitai side refuses too. (The C# reader judges the name's
    /// length after its bytes, the .ksy at `len_name`: both refuse the same payloads.)
    /// </summary>
    [Theory]
    [InlineData("socket_id 0", "field 'socket_id' has invalid value 0", "ValidationLessThanError: not in range, min [1], but got [0]")]
    [InlineData("empty name", "field 'name' has invalid value 0", "ValidationLessThanError: not in range, min [1], but got [0]")]
    [InlineData("path of 109 bytes", "field 'name' has invalid value 109", "ValidationGreaterThanError: not in range, max [108], but got [109]")]
    [InlineData("abstract name of 109 bytes", "field 'name' has invalid value 109", "ValidationGreaterThanError: not in range, max [108], but got [109]")]
    [InlineData("name length 4097", "field 'name' is 4097 bytes long, over the limit of 4096",
        "ValidationGreaterThanError: not in range, max [108], but got [4097]")]
    [InlineData("NUL inside a path", "a path holds no NUL byte", "ValidationExprError: not matching the expression")]
    [InlineData("NUL last in a path", "a path holds no NUL byte", "ValidationExprError: not matching the expression")]
    [InlineData("NUL inside the longest path", "a path holds no NUL byte", "ValidationExprError: not matching the expression")]
    [InlineData("7 bytes", "field 'socket_id' needs 8 bytes but only 7 remain", "EOFError: requested 8 bytes, but only 7 bytes available")]
    [InlineData("9 bytes", "field 'name.length' needs 2 bytes but only 1 remain", "EOFError: requested 2 bytes, but only 1 bytes available")]
    [InlineData("name cut short", "field 'name' needs 13 bytes but only 12 remain", "EOFError: requested 13 bytes, but only 12 bytes available")]
    [InlineData("a byte too many", "1 unexpected bytes after the last field", "1 bytes after the last field of unix_socket_name")]
    public async Task The_ksy_refuses_the_unix_socket_names_the_reader_refuses(string fault, string csharpError, string kaitaiError)
    {
        var name = new UnixSocketName(88123, "/run/app.sock"u8.ToArray());
        // socket_id 0, name 8 (its length, then its bytes at 10): 23 bytes in all with a name of 13.
        byte[] payload = fault switch
        {
            "socket_id 0" => Patch(name, 0, 0, 0, 0, 0, 0, 0, 0, 0),
            "empty name" => Patch(name with { Name = [] }, 0),
            "path of 109 bytes" => Patch(name with { Name = [(byte)'/', .. Enumerable.Repeat((byte)'x', 108)] }, 0),
            "abstract name of 109 bytes" => Patch(name with { Name = new byte[109] }, 0),
            "name length 4097" => Patch(name, 8, 0x01, 0x10),
            "NUL inside a path" => Patch(name, 14, 0),
            "NUL last in a path" => Patch(name, 22, 0),
            "NUL inside the longest path" => Patch(name with { Name = [(byte)'/', .. Enumerable.Range(1, 106).Select(i => (byte)i), 0] }, 0),
            "7 bytes" => Patch(name, 0)[..7],
            "9 bytes" => Patch(name, 0)[..9],
            "name cut short" => Patch(name, 0)[..22],
            "a byte too many" => [.. Patch(name, 0), 0],
            _ => throw new ArgumentException(fault),
        };
        byte[] bytes = new RawCheckpoint().Begin("PROC")
            .Item(new ProcessInfo(7, 1, 7, 7, ProcessState.Alive, 0, 0, 0x12, 1, 0, 0, 0, 1, "p"u8.ToArray(), [], [], []))
            .Frame("USNM", ItemFlags.Critical, payload).End("PROC").Complete();
        var rejected = Assert.Throws<CheckpointFormatException>(() => RawCheckpoint.ReadAll(bytes));
        Assert.Contains(csharpError, rejected.Message, StringComparison.Ordinal);

        var result = await KaitaiCrossCheck.RunScriptAsync(Write("usnm.cryo", bytes));

        Assert.True(result.ExitCode == 1, $"crosscheck.js accepted a USNM the C# reader refuses ({rejected.Message}): exit {result.ExitCode}");
        Assert.True(result.Error.Contains("item #2 'USNM'", StringComparison.Ordinal) && result.Error.Contains(kaitaiError, StringComparison.Ordinal), result.Error);
    }

    /// <summary>
    /// What the reader takes, both sides take: the shortest and longest paths and abstract names, an
    /// abstract name with NULs inside and last (NULs only, too), a relative path, every byte but NUL
    /// in a path, the largest socket id, and what the reader leaves to consumers (a USNM without a
    /// USCK before it, a name the kernel could have given by itself) read the same through the .ksy
    /// as through the C# reader.
    /// </summary>
    [Fact]
    public async Task The_ksy_reads_the_unix_socket_names_the_reader_takes()
    {
        var names = new[]
        {
            new UnixSocketName(88123, "/run/app.sock"u8.ToArray()),
            new UnixSocketName(1, "/"u8.ToArray()),
            new UnixSocketName(ulong.MaxValue, [(byte)'/', .. Enumerable.Range(0x80, 107).Select(i => (byte)i)]),
            new UnixSocketName(KaitaiEdgeSample.Above53, "x"u8.ToArray()),
            new UnixSocketName(KaitaiEdgeSample.TopBit, "run/relative \"a\\b\".sock"u8.ToArray()),
            new UnixSocketName(2, [.. Enumerable.Range(1, 108).Select(i => (byte)i)]),
            new UnixSocketName(3, [0]),
            new UnixSocketName(4, new byte[108]),
            new UnixSocketName(5, [0, .. "a"u8, 0, .. "b"u8, 0]),
            new UnixSocketName(6, [0, .. Enumerable.Range(0, 107).Select(i => (byte)(i * 37))]),
            new UnixSocketName(7, [0, .. "3f2a1"u8]), // what autobind gives: writers write none, the reader takes it
        };
        var raw = new RawCheckpoint().Begin("PROC")
            .Item(new ProcessInfo(7, 1, 7, 7, ProcessState.Alive, 0, 0, 0x12, 1, 0, 0, 0, 1, "p"u8.ToArray(), [], [], []));
        foreach (var name in names) raw.Item(name);
        byte[] bytes = raw.End("PROC").Complete();
        var read = RawCheckpoint.ReadAll(bytes);
        for (int i = 0; i < names.Length; i++) Assert.Null(ItemComparer.Difference(names[i], read[2 + i]));
        Assert.Equal([false, false, false, false, false, false, true, true, true, true, true],
            read.Skip(2).Take(names.Length).Select(n => ((UnixSocketName)n).IsAbstract));

        await KaitaiCrossCheck.AssertAgreeAsync(Write("usnm-ok.cryo", bytes));
    }

    /// <summary>
    /// ISCK's checks are all in the .ksy (a descriptor not negative, family 2 or 10, and for family 2
    /// an address whose last 12 bytes are 0, no scope id and no IPV6_V6ONLY; no option bit above
    /// 0x10), and a payload cut short or too long is refused by both: what the C# reader refuses, the
    /// Kaitai side refuses too.
    /// </summary>
    [Theory]
    [InlineData("fd -1", "field 'fd' has invalid value -1", "ValidationLessThanError: not in range, min [0], but got [-1]")]
    [InlineData("family 0", "field 'family' has invalid value 0", "ValidationNotInEnumError: not in the enum, got [0]")]
    [InlineData("family 1", "field 'family' has invalid value 1", "ValidationNotInEnumError: not in the enum, got [1]")] // AF_UNIX
    [InlineData("family 3", "field 'family' has invalid value 3", "ValidationNotInEnumError: not in the enum, got [3]")]
    [InlineData("IPv4, byte 4 set", "field 'address' has invalid value 7F000001010000000000000000000000", "ValidationExprError: not matching the expression")]
    [InlineData("IPv4, byte 15 set", "field 'address' has invalid value 7F000001000000000000000000000080", "ValidationExprError: not matching the expression")]
    [InlineData("IPv4 with a scope", "field 'scope_id' has invalid value 1", "ValidationExprError: not matching the expression, got [1]")]
    [InlineData("options 0x20", "field 'options' has invalid value 0x20", "ValidationExprError: not matching the expression, got [32]")]
    [InlineData("options 0x80000001", "field 'options' has invalid value 0x80000001", "ValidationExprError: not matching the expression, got [2147483649]")]
    [InlineData("IPv4 with IPV6_V6ONLY", "field 'options' has invalid value 0x9", "ValidationExprError: not matching the expression, got [9]")]
    [InlineData("42 bytes", "field 'fastopen_queue' needs 4 bytes but only 3 remain", "EOFError: requested 4 bytes, but only 3 bytes available")]
    [InlineData("22 bytes", "field 'address' needs 16 bytes but only 15 remain", "EOFError: requested 16 bytes, but only 15 bytes available")]
    [InlineData("44 bytes", "1 unexpected bytes after the last field", "1 bytes after the last field of inet_socket")]
    public async Task The_ksy_refuses_the_listening_sockets_the_reader_refuses(string fault, string csharpError, string kaitaiError)
    {
        var socket = new InetSocket(5, InetSocket.Inet, 8080, [127, 0, 0, 1, .. new byte[12]], 0, 511, InetSocket.ReuseAddress, 1, 256);
        // fd 0, family 4, port 5, address 7, scope_id 23, backlog 27, options 31, defer_accept 35, fastopen_queue 39.
        byte[] payload = fault switch
        {
            "fd -1" => Patch(socket, 0, 0xff, 0xff, 0xff, 0xff),
            "family 0" => Patch(socket, 4, 0),
            "family 1" => Patch(socket, 4, 1),
            "family 3" => Patch(socket, 4, 3),
            "IPv4, byte 4 set" => Patch(socket, 11, 1),
            "IPv4, byte 15 set" => Patch(socket, 22, 0x80),
            "IPv4 with a scope" => Patch(socket, 23, 1),
            "options 0x20" => Patch(socket, 31, 0x20),
            "options 0x80000001" => Patch(socket, 31, 1, 0, 0, 0x80),
            "IPv4 with IPV6_V6ONLY" => Patch(socket, 31, 0x09),
            "42 bytes" => Patch(socket, 0)[..42],
            "22 bytes" => Patch(socket, 0)[..22],
            "44 bytes" => [.. Patch(socket, 0), 0],
            _ => throw new ArgumentException(fault),
        };
        byte[] bytes = new RawCheckpoint().Begin("PROC")
            .Item(new ProcessInfo(7, 1, 7, 7, ProcessState.Alive, 0, 0, 0x12, 1, 0, 0, 0, 1, "p"u8.ToArray(), [], [], []))
            .Frame("ISCK", ItemFlags.Critical, payload).End("PROC").Complete();
        var rejected = Assert.Throws<CheckpointFormatException>(() => RawCheckpoint.ReadAll(bytes));
        Assert.Contains(csharpError, rejected.Message, StringComparison.Ordinal);

        var result = await KaitaiCrossCheck.RunScriptAsync(Write("isck.cryo", bytes));

        Assert.True(result.ExitCode == 1, $"crosscheck.js accepted an ISCK the C# reader refuses ({rejected.Message}): exit {result.ExitCode}");
        Assert.True(result.Error.Contains("item #2 'ISCK'", StringComparison.Ordinal) && result.Error.Contains(kaitaiError, StringComparison.Ordinal), result.Error);
    }

    /// <summary>
    /// What the family allows, both sides take: the bytes the IPv4 checks refuse (an address beyond 4
    /// bytes, a scope id, IPV6_V6ONLY) in an IPv6 socket read the same through the .ksy as through the
    /// C# reader, and so do IPv4 and IPv6 sockets at the edges of their values.
    /// </summary>
    [Fact]
    public async Task The_ksy_reads_the_listening_sockets_the_reader_takes()
    {
        var sockets = new[]
        {
            new InetSocket(5, InetSocket.Inet6, 8080, [127, 0, 0, 1, 1, .. new byte[10], 0x80], 1, 511, InetSocket.V6Only | InetSocket.ReuseAddress, 1, 256),
            new InetSocket(0, InetSocket.Inet, 0, new byte[16], 0, 0, 0, 0, 0),
            new InetSocket(int.MaxValue, InetSocket.Inet, ushort.MaxValue, [255, 255, 255, 255, .. new byte[12]], 0, uint.MaxValue, 0x17, uint.MaxValue, uint.MaxValue),
            new InetSocket(int.MaxValue, InetSocket.Inet6, ushort.MaxValue, [.. Enumerable.Repeat((byte)0xff, 16)], uint.MaxValue, uint.MaxValue, 0x1f,
                uint.MaxValue, uint.MaxValue),
        };
        var raw = new RawCheckpoint().Begin("PROC")
            .Item(new ProcessInfo(7, 1, 7, 7, ProcessState.Alive, 0, 0, 0x12, 1, 0, 0, 0, 1, "p"u8.ToArray(), [], [], []));
        foreach (var socket in sockets) raw.Item(socket);
        byte[] bytes = raw.End("PROC").Complete();
        var read = RawCheckpoint.ReadAll(bytes);
        for (int i = 0; i < sockets.Length; i++) Assert.Null(ItemComparer.Difference(sockets[i], read[2 + i]));
        Assert.Equal("7f00:1:100::80", ((InetSocket)read[2]).AddressText);

        await KaitaiCrossCheck.AssertAgreeAsync(Write("isck-ok.cryo", bytes));
    }

    /// <summary>
    /// UDPS's checks are all in the .ksy (a descriptor not negative, family 2 or 10, and for family 2
    /// local and peer addresses whose last 12 bytes are 0, no scope ids and no IPV6_V6ONLY; no option
    /// bit above 0x8; a type of service of one byte; a peer port only with a local port), and a
    /// payload cut short or too long is refused by both: what the C# reader refuses, the Kaitai side
    /// refuses too. (The C# reader judges a connected socket without a local port once it has read
    /// the peer's scope id, naming `local_port`; the .ksy at `peer_port`: both refuse the same
    /// payloads.)
    /// </summary>
    [Theory]
    [InlineData("fd -1", "field 'fd' has invalid value -1", "ValidationLessThanError: not in range, min [0], but got [-1]")]
    [InlineData("family 0", "field 'family' has invalid value 0", "ValidationNotInEnumError: not in the enum, got [0]")]
    [InlineData("family 1", "field 'family' has invalid value 1", "ValidationNotInEnumError: not in the enum, got [1]")] // AF_UNIX
    [InlineData("family 3", "field 'family' has invalid value 3", "ValidationNotInEnumError: not in the enum, got [3]")]
    [InlineData("IPv4, local byte 4 set", "field 'local_address' has invalid value 7F000001010000000000000000000000", "ValidationExprError: not matching the expression")]
    [InlineData("IPv4, local byte 15 set", "field 'local_address' has invalid value 7F000001000000000000000000000080", "ValidationExprError: not matching the expression")]
    [InlineData("IPv4, peer byte 4 set", "field 'peer_address' has invalid value 7F000001010000000000000000000000", "ValidationExprError: not matching the expression")]
    [InlineData("IPv4, peer byte 15 set", "field 'peer_address' has invalid value 7F000001000000000000000000000080", "ValidationExprError: not matching the expression")]
    [InlineData("IPv4 with a local scope", "field 'local_scope_id' has invalid value 1", "ValidationExprError: not matching the expression, got [1]")]
    [InlineData("IPv4 with a peer scope", "field 'peer_scope_id' has invalid value 2147483648", "ValidationExprError: not matching the expression, got [2147483648]")]
    [InlineData("connected, not bound", "field 'local_port' has invalid value 0", "ValidationExprError: not matching the expression, got [8125]")]
    [InlineData("connected to port 65535, not bound", "field 'local_port' has invalid value 0", "ValidationExprError: not matching the expression, got [65535]")]
    [InlineData("options 0x10", "field 'options' has invalid value 0x10", "ValidationExprError: not matching the expression, got [16]")]
    [InlineData("options 0x80000001", "field 'options' has invalid value 0x80000001", "ValidationExprError: not matching the expression, got [2147483649]")]
    [InlineData("IPv4 with IPV6_V6ONLY", "field 'options' has invalid value 0x9", "ValidationExprError: not matching the expression, got [9]")]
    [InlineData("tos 0x100", "field 'tos' has invalid value 256", "ValidationGreaterThanError: not in range, max [255], but got [256]")]
    [InlineData("tos 2^32 - 1", "field 'tos' has invalid value 4294967295", "ValidationGreaterThanError: not in range, max [255], but got [4294967295]")]
    [InlineData("64 bytes", "field 'tos' needs 4 bytes but only 3 remain", "EOFError: requested 4 bytes, but only 3 bytes available")]
    [InlineData("40 bytes", "field 'peer_address' needs 16 bytes but only 11 remain", "EOFError: requested 16 bytes, but only 11 bytes available")]
    [InlineData("28 bytes", "field 'peer_port' needs 2 bytes but only 1 remain", "EOFError: requested 2 bytes, but only 1 bytes available")]
    [InlineData("an ISCK's 43 bytes", "field 'peer_address' needs 16 bytes but only 14 remain", "EOFError: requested 16 bytes, but only 14 bytes available")]
    [InlineData("66 bytes", "1 unexpected bytes after the last field", "1 bytes after the last field of inet_datagram_socket")]
    public async Task The_ksy_refuses_the_udp_sockets_the_reader_refuses(string fault, string csharpError, string kaitaiError)
    {
        byte[] loopback = [127, 0, 0, 1, .. new byte[12]];
        var socket = new InetDatagramSocket(5, InetSocket.Inet, 40123, loopback, 0, 8125, loopback, 0, InetDatagramSocket.ReuseAddress, 212_992, 212_992, 0xb8);
        // fd 0, family 4, local_port 5, local_address 7, local_scope_id 23, peer_port 27, peer_address 29, peer_scope_id 45,
        // options 49, send_buffer 53, receive_buffer 57, tos 61: 65 bytes.
        byte[] payload = fault switch
        {
            "fd -1" => Patch(socket, 0, 0xff, 0xff, 0xff, 0xff),
            "family 0" => Patch(socket, 4, 0),
            "family 1" => Patch(socket, 4, 1),
            "family 3" => Patch(socket, 4, 3),
            "IPv4, local byte 4 set" => Patch(socket, 11, 1),
            "IPv4, local byte 15 set" => Patch(socket, 22, 0x80),
            "IPv4, peer byte 4 set" => Patch(socket, 33, 1),
            "IPv4, peer byte 15 set" => Patch(socket, 44, 0x80),
            "IPv4 with a local scope" => Patch(socket, 23, 1),
            "IPv4 with a peer scope" => Patch(socket, 45, 0, 0, 0, 0x80),
            "connected, not bound" => Patch(socket, 5, 0, 0),
            "connected to port 65535, not bound" => Patch(socket with { LocalPort = 0, PeerPort = ushort.MaxValue }, 0),
            "options 0x10" => Patch(socket, 49, 0x10),
            "options 0x80000001" => Patch(socket, 49, 1, 0, 0, 0x80),
            "IPv4 with IPV6_V6ONLY" => Patch(socket, 49, 0x09),
            "tos 0x100" => Patch(socket, 61, 0, 1),
            "tos 2^32 - 1" => Patch(socket, 61, 0xff, 0xff, 0xff, 0xff),
            "64 bytes" => Patch(socket, 0)[..64],
            "40 bytes" => Patch(socket, 0)[..40],
            "28 bytes" => Patch(socket, 0)[..28],
            "an ISCK's 43 bytes" => Patch(new InetSocket(5, InetSocket.Inet, 8080, loopback, 0, 511, InetSocket.ReuseAddress, 1, 256), 0),
            "66 bytes" => [.. Patch(socket, 0), 0],
            _ => throw new ArgumentException(fault),
        };
        byte[] bytes = new RawCheckpoint().Begin("PROC")
            .Item(new ProcessInfo(7, 1, 7, 7, ProcessState.Alive, 0, 0, 0x12, 1, 0, 0, 0, 1, "p"u8.ToArray(), [], [], []))
            .Frame("UDPS", ItemFlags.Critical, payload).End("PROC").Complete();
        var rejected = Assert.Throws<CheckpointFormatException>(() => RawCheckpoint.ReadAll(bytes));
        Assert.Contains(csharpError, rejected.Message, StringComparison.Ordinal);

        var result = await KaitaiCrossCheck.RunScriptAsync(Write("udps.cryo", bytes));

        Assert.True(result.ExitCode == 1, $"crosscheck.js accepted a UDPS the C# reader refuses ({rejected.Message}): exit {result.ExitCode}");
        Assert.True(result.Error.Contains("item #2 'UDPS'", StringComparison.Ordinal) && result.Error.Contains(kaitaiError, StringComparison.Ordinal), result.Error);
    }

    /// <summary>
    /// What the family allows, both sides take: the bytes the IPv4 checks refuse (addresses beyond 4
    /// bytes, scope ids, IPV6_V6ONLY) in an IPv6 socket; what the reader leaves to writers (a local
    /// address with port 0, a peer address and scope with port 0); a socket bound and not connected,
    /// neither, and both; and IPv4 and IPv6 sockets at the edges of their values read the same through
    /// the .ksy as through the C# reader.
    /// </summary>
    [Fact]
    public async Task The_ksy_reads_the_udp_sockets_the_reader_takes()
    {
        byte[] odd = [127, 0, 0, 1, 1, .. new byte[10], 0x80];
        byte[] all = [.. Enumerable.Repeat((byte)0xff, 16)];
        var sockets = new[]
        {
            new InetDatagramSocket(5, InetSocket.Inet6, 40123, odd, 1, 8125, odd, 2, InetDatagramSocket.V6Only | InetDatagramSocket.Broadcast, 212_992, 212_992, 0xb8),
            new InetDatagramSocket(0, InetSocket.Inet, 0, new byte[16], 0, 0, new byte[16], 0, 0, 0, 0, 0),
            new InetDatagramSocket(int.MaxValue, InetSocket.Inet, ushort.MaxValue, [255, 255, 255, 255, .. new byte[12]], 0, ushort.MaxValue,
                [255, 255, 255, 255, .. new byte[12]], 0, 0x7, uint.MaxValue, uint.MaxValue, 0xff),
            new InetDatagramSocket(int.MaxValue, InetSocket.Inet6, ushort.MaxValue, all, uint.MaxValue, ushort.MaxValue, all, uint.MaxValue, 0xf,
                uint.MaxValue, uint.MaxValue, 0xff),
            new InetDatagramSocket(6, InetSocket.Inet, 0, [10, 1, 2, 3, .. new byte[12]], 0, 0, [192, 0, 2, 7, .. new byte[12]], 0, 0, 4608, 2304, 0),
            new InetDatagramSocket(7, InetSocket.Inet6, 5353, [0xfe, 0x80, .. new byte[13], 1], 3, 0, all, uint.MaxValue, InetDatagramSocket.ReusePort, 1, 1, 1),
        };
        var raw = new RawCheckpoint().Begin("PROC")
            .Item(new ProcessInfo(7, 1, 7, 7, ProcessState.Alive, 0, 0, 0x12, 1, 0, 0, 0, 1, "p"u8.ToArray(), [], [], []));
        foreach (var socket in sockets) raw.Item(socket);
        byte[] bytes = raw.End("PROC").Complete();
        var read = RawCheckpoint.ReadAll(bytes);
        for (int i = 0; i < sockets.Length; i++) Assert.Null(ItemComparer.Difference(sockets[i], read[2 + i]));
        var first = (InetDatagramSocket)read[2];
        Assert.Equal(("7f00:1:100::80", "7f00:1:100::80"), (first.AddressText(first.LocalAddress), first.AddressText(first.PeerAddress)));
        Assert.Equal([(true, true), (false, false), (true, true), (true, true), (false, false), (true, false)],
            read.Skip(2).Take(sockets.Length).Select(s => (((InetDatagramSocket)s).IsBound, ((InetDatagramSocket)s).IsConnected)));

        await KaitaiCrossCheck.AssertAgreeAsync(Write("udps-ok.cryo", bytes));
    }

    /// <summary>
    /// TTYS's checks are all in the .ksy (a descriptor not negative; flags 0, 1 or 3: no bit but
    /// 0x1 and 0x2, and 0x2 only with 0x1), and a payload cut short is refused by both: what the C#
    /// reader refuses, the Kaitai side refuses too.
    /// </summary>
    [Theory]
    [InlineData("fd -1", "field 'fd' has invalid value -1", "ValidationLessThanError: not in range, min [0], but got [-1]")]
    [InlineData("flags 2", "field 'flags' has invalid value 0x2", "ValidationExprError: not matching the expression, got [2]")] // foreground without control
    [InlineData("flags 4", "field 'flags' has invalid value 0x4", "ValidationExprError: not matching the expression, got [4]")]
    [InlineData("flags 7", "field 'flags' has invalid value 0x7", "ValidationExprError: not matching the expression, got [7]")]
    [InlineData("flags 0x80000001", "field 'flags' has invalid value 0x80000001", "ValidationExprError: not matching the expression, got [2147483649]")]
    [InlineData("59 bytes", "field 'ypixel' needs 2 bytes but only 1 remain", "EOFError: requested 2 bytes, but only 1 bytes available")]
    [InlineData("43 bytes", "field 'cc' needs 19 bytes but only 18 remain", "EOFError: requested 19 bytes, but only 18 bytes available")]
    public async Task The_ksy_refuses_the_terminal_states_the_reader_refuses(string fault, string csharpError, string kaitaiError)
    {
        var terminal = new TerminalState(0, TerminalState.Controlling | TerminalState.Foreground, 0x4500, 0x5, 0xbf, 0x8a3b, 0,
            [3, 28, 127, 21, 4, 0, 1, 0, 17, 19, 26, 0, 18, 15, 23, 22, 0, 0, 0], 38400, 38400, 50, 132, 0, 0);
        byte[] payload = fault switch
        {
            "fd -1" => Patch(terminal, 0, 0xff, 0xff, 0xff, 0xff),
            "flags 2" => Patch(terminal, 4, 2),
            "flags 4" => Patch(terminal, 4, 4),
            "flags 7" => Patch(terminal, 4, 7),
            "flags 0x80000001" => Patch(terminal, 4, 1, 0, 0, 0x80),
            "59 bytes" => Patch(terminal, 0)[..59],
            "43 bytes" => Patch(terminal, 0)[..43],
            _ => throw new ArgumentException(fault),
        };
        byte[] bytes = new RawCheckpoint().Begin("PROC")
            .Item(new ProcessInfo(7, 1, 7, 7, ProcessState.Alive, 0, 0, 0x12, 1, 0, 0, 0, 1, "p"u8.ToArray(), [], [], []))
            .Frame("TTYS", ItemFlags.Critical, payload).End("PROC").Complete();
        var rejected = Assert.Throws<CheckpointFormatException>(() => RawCheckpoint.ReadAll(bytes));
        Assert.Contains(csharpError, rejected.Message, StringComparison.Ordinal);

        var result = await KaitaiCrossCheck.RunScriptAsync(Write("ttys.cryo", bytes));

        Assert.True(result.ExitCode == 1, $"crosscheck.js accepted a TTYS the C# reader refuses ({rejected.Message}): exit {result.ExitCode}");
        Assert.True(result.Error.Contains("item #2 'TTYS'", StringComparison.Ordinal) && result.Error.Contains(kaitaiError, StringComparison.Ordinal), result.Error);
    }

    /// <summary>
    /// SCMF's and SCMT's checks are all in the .ksy (a filter id from 1, a parent below it, no flag
    /// but LOG, 1 … 4096 instructions; mode 1 or 2, with a filter id in filter mode and none in
    /// strict mode), and a payload cut short is refused by both: what the C# reader refuses, the
    /// Kaitai side refuses too.
    /// </summary>
    [Theory]
    [InlineData("SCMF", "filter_id 0", "field 'filter_id' has invalid value 0", "ValidationLessThanError: not in range, min [1], but got [0]")]
    [InlineData("SCMF", "parent_id = filter_id", "field 'parent_id' has invalid value 2", "ValidationExprError: not matching the expression, got [2]")]
    [InlineData("SCMF", "parent_id > filter_id", "field 'parent_id' has invalid value 3", "ValidationExprError: not matching the expression, got [3]")]
    [InlineData("SCMF", "both ids 2^32 - 1", "field 'parent_id' has invalid value 4294967295",
        "ValidationExprError: not matching the expression, got [4294967295]")] // above 2^31: compared unsigned
    [InlineData("SCMF", "flags 1", "field 'flags' has invalid value 0x1", "ValidationExprError: not matching the expression, got [1]")] // TSYNC
    [InlineData("SCMF", "flags 0x80000002", "field 'flags' has invalid value 0x80000002", "ValidationExprError: not matching the expression, got [2147483650]")]
    [InlineData("SCMF", "no instructions", "field 'program.count' has invalid value 0", "ValidationLessThanError: not in range, min [1], but got [0]")]
    [InlineData("SCMF", "4097 instructions", "field 'program.count' has invalid value 4097", "ValidationGreaterThanError: not in range, max [4096], but got [4097]")]
    [InlineData("SCMF", "31 bytes", "list 'program' claims 2 entries of 8 bytes but only 15 bytes remain", "EOFError: requested 4 bytes, but only 3 bytes available")]
    [InlineData("SCMT", "mode 0", "field 'mode' has invalid value 0", "ValidationNotInEnumError: not in the enum, got [0]")]
    [InlineData("SCMT", "mode 3", "field 'mode' has invalid value 3", "ValidationNotInEnumError: not in the enum, got [3]")]
    [InlineData("SCMT", "filter mode, filter_id 0", "field 'filter_id' has invalid value 0", "ValidationExprError: not matching the expression, got [0]")]
    [InlineData("SCMT", "strict mode, filter_id 1", "field 'filter_id' has invalid value 1", "ValidationExprError: not matching the expression, got [1]")]
    [InlineData("SCMT", "4 bytes", "field 'filter_id' needs 4 bytes but only 3 remain", "EOFError: requested 4 bytes, but only 3 bytes available")]
    public async Task The_ksy_refuses_the_seccomp_items_the_reader_refuses(string tag, string fault, string csharpError, string kaitaiError)
    {
        var filter = new SeccompFilter(2, 1, SeccompFilter.Log, [new BpfInstruction(0x20, 0, 0, 0), new BpfInstruction(0x06, 0, 0, 0x7fff_0000)]);
        var filtered = new ThreadSeccomp(SeccompMode.Filter, 1);
        byte[] payload = fault switch
        {
            "filter_id 0" => Patch(filter, 0, 0),
            "parent_id = filter_id" => Patch(filter, 4, 2),
            "parent_id > filter_id" => Patch(filter, 4, 3),
            "both ids 2^32 - 1" => Patch(filter, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff),
            "flags 1" => Patch(filter, 8, 1),
            "flags 0x80000002" => Patch(filter, 8, 2, 0, 0, 0x80),
            "no instructions" => Patch(filter with { Program = [] }, 0),
            "4097 instructions" => Patch(filter with { Program = [.. Enumerable.Repeat(new BpfInstruction(0x06, 0, 0, 0), SeccompFilter.MaxInstructions + 1)] }, 0),
            "31 bytes" => Patch(filter, 0)[..31],
            "mode 0" => Patch(filtered, 0, 0),
            "mode 3" => Patch(filtered, 0, 3),
            "filter mode, filter_id 0" => Patch(filtered, 1, 0),
            "strict mode, filter_id 1" => Patch(filtered, 0, 1),
            "4 bytes" => Patch(filtered, 0)[..4],
            _ => throw new ArgumentException(fault),
        };
        bool inThread = tag == "SCMT";
        var raw = new RawCheckpoint().Begin("PROC")
            .Item(new ProcessInfo(7, 1, 7, 7, ProcessState.Alive, 0, 0, 0x12, 1, 0, 0, 0, 1, "p"u8.ToArray(), [], [], []));
        if (inThread) raw.Begin("THRD");
        raw.Frame(tag, ItemFlags.Critical, payload);
        if (inThread) raw.End("THRD");
        byte[] bytes = raw.End("PROC").Complete();
        var rejected = Assert.Throws<CheckpointFormatException>(() => RawCheckpoint.ReadAll(bytes));
        Assert.Contains(csharpError, rejected.Message, StringComparison.Ordinal);

        var result = await KaitaiCrossCheck.RunScriptAsync(Write("seccomp.cryo", bytes));

        Assert.True(result.ExitCode == 1, $"crosscheck.js accepted a {tag} the C# reader refuses ({rejected.Message}): exit {result.ExitCode}");
        Assert.True(result.Error.Contains($"item #{(inThread ? 3 : 2)} '{tag}'", StringComparison.Ordinal)
            && result.Error.Contains(kaitaiError, StringComparison.Ordinal), result.Error);
    }

    /// <summary>
    /// Seccomp items with the ids the C# reader takes at the top of their range (a filter 2^32 - 1 on
    /// 2^32 - 2, a thread naming it: above 2^31, where a signed comparison would go wrong) read the
    /// same through the .ksy. (A writer numbers filters from 1 in each PROC; the reader does not check
    /// that, nor does the .ksy.)
    /// </summary>
    [Fact]
    public async Task The_ksy_reads_the_seccomp_ids_the_reader_takes()
    {
        var top = new SeccompFilter(uint.MaxValue, uint.MaxValue - 1, SeccompFilter.Log, [new BpfInstruction(0x06, 0, 0, uint.MaxValue)]);
        var low = new SeccompFilter(0x8000_0000, 0x7fff_ffff, 0, [new BpfInstruction(0x06, 0, 0, 0x7fff_0000)]);
        byte[] bytes = new RawCheckpoint().Begin("PROC")
            .Item(new ProcessInfo(7, 1, 7, 7, ProcessState.Alive, 0, 0, 0x12, 1, 0, 0, 0, 1, "p"u8.ToArray(), [], [], []))
            .Item(low).Item(top)
            .Begin("THRD").Item(new ThreadSeccomp(SeccompMode.Filter, uint.MaxValue)).End("THRD")
            .End("PROC").Complete();
        var read = RawCheckpoint.ReadAll(bytes);
        Assert.Null(ItemComparer.Difference(low, read[2]));
        Assert.Null(ItemComparer.Difference(top, read[3]));

        await KaitaiCrossCheck.AssertAgreeAsync(Write("seccomp-ok.cryo", bytes));
    }

    /// <summary>The payload <paramref name="item"/>'s encoder writes, with <paramref name="bytes"/> written at <paramref name="offset"/>.</summary>
    private static byte[] Patch(CheckpointItem item, int offset, params byte[] bytes)
    {
        var w = new PayloadWriter();
        item.Encode(w);
        byte[] payload = w.Written.ToArray();
        bytes.CopyTo(payload, offset);
        return payload;
    }

    /// <summary>
    /// GARD's checks are in the .ksy: at least one range, each ending above its start, each starting
    /// at or above the previous one's end (the previous end as a type argument), up to the top of the
    /// 64-bit range: what the C# reader refuses, the Kaitai side refuses too.
    /// </summary>
    [Theory]
    [InlineData(new ulong[] { }, "field 'ranges' has invalid value 0", "ValidationLessThanError: not in range, min [1], but got [0]")]
    [InlineData(new ulong[] { 0x1000, 0x1000 }, "field 'end' has invalid value 0x1000", "ValidationExprError: not matching the expression, got [4096]")] // end == start
    [InlineData(new ulong[] { 0x2000, 0x1000 }, "field 'end' has invalid value 0x1000", "ValidationExprError: not matching the expression, got [4096]")] // end < start
    [InlineData(new ulong[] { 0, 0 }, "field 'end' has invalid value 0x0", "ValidationExprError: not matching the expression, got [0]")]
    [InlineData(new ulong[] { 0x1000, 0x3000, 0x2000, 0x4000 }, "field 'start' has invalid value 0x2000",
        "ValidationLessThanError: not in range, min [12288], but got [8192]")] // overlapping
    [InlineData(new ulong[] { 0x5000, 0x6000, 0x1000, 0x2000 }, "field 'start' has invalid value 0x1000",
        "ValidationLessThanError: not in range, min [24576], but got [4096]")] // descending
    [InlineData(new ulong[] { 0x1000, 0x2000, 0x1000, 0x2000 }, "field 'start' has invalid value 0x1000",
        "ValidationLessThanError: not in range, min [8192], but got [4096]")] // one range twice
    [InlineData(new ulong[] { 0x1000, 0x2000, 0x3000, 0x4000, 0x3fff, 0x5000 }, "field 'start' has invalid value 0x3fff",
        "ValidationLessThanError: not in range, min [16384], but got [16383]")] // the third overlaps the second by one byte
    [InlineData(new ulong[] { 0xffff_ffff_ffff_e000, ulong.MaxValue, 0xffff_ffff_ffff_f000, ulong.MaxValue }, "field 'start' has invalid value 0xfffffffffffff000",
        "ValidationLessThanError: not in range, min [18446744073709551615], but got [18446744073709547520]")] // above 2^53: exact
    [InlineData(new ulong[] { ulong.MaxValue, ulong.MaxValue - 1 }, "field 'end' has invalid value 0xfffffffffffffffe",
        "ValidationExprError: not matching the expression, got [18446744073709551614]")]
    public async Task The_ksy_refuses_the_guard_regions_the_reader_refuses(ulong[] bounds, string csharpError, string kaitaiError)
    {
        var payload = new PayloadWriter();
        payload.Count(bounds.Length / 2);
        foreach (ulong bound in bounds) payload.U64(bound);
        byte[] bytes = new RawCheckpoint().Begin("PROC")
            .Item(new ProcessInfo(7, 1, 7, 7, ProcessState.Alive, 0, 0, 0x12, 1, 0, 0, 0, 1, "p"u8.ToArray(), [], [], []))
            .Frame("GARD", ItemFlags.Critical, payload.Written.ToArray()).End("PROC").Complete();
        var rejected = Assert.Throws<CheckpointFormatException>(() => RawCheckpoint.ReadAll(bytes));
        Assert.Contains(csharpError, rejected.Message, StringComparison.Ordinal);

        var result = await KaitaiCrossCheck.RunScriptAsync(Write("gard.cryo", bytes));

        Assert.True(result.ExitCode == 1, $"crosscheck.js accepted a GARD the C# reader refuses ({rejected.Message}): exit {result.ExitCode}");
        Assert.True(result.Error.Contains("item #2 'GARD'", StringComparison.Ordinal) && result.Error.Contains(kaitaiError, StringComparison.Ordinal), result.Error);
    }

    /// <summary>Valid GARD items the C# reader takes (touching ranges, the top of the address space) read the same through the .ksy.</summary>
    [Fact]
    public async Task The_ksy_reads_the_guard_regions_the_reader_takes()
    {
        var guards = new GuardRegions([new GuardRange(0, 0x1000), new GuardRange(0x1000, 0x2000), new GuardRange(0x7fff_ffff_f000, KaitaiEdgeSample.Above53),
            new GuardRange(KaitaiEdgeSample.Above53, KaitaiEdgeSample.Above53 + 1), new GuardRange(ulong.MaxValue - 1, ulong.MaxValue)]);
        byte[] bytes = new RawCheckpoint().Begin("PROC")
            .Item(new ProcessInfo(7, 1, 7, 7, ProcessState.Alive, 0, 0, 0x12, 1, 0, 0, 0, 1, "p"u8.ToArray(), [], [], []))
            .Item(guards).End("PROC").Complete();
        var back = Assert.IsType<GuardRegions>(RawCheckpoint.ReadAll(bytes)[2]);
        Assert.Equal(guards.Ranges, back.Ranges);

        await KaitaiCrossCheck.AssertAgreeAsync(Write("gard-ok.cryo", bytes));
    }

    /// <summary>
    /// A GARD cut short or with a byte too many: the Kaitai side refuses it as the C# reader does
    /// (running out of bytes in the entry, or crosscheck.js's check for bytes after the last field).
    /// </summary>
    [Theory]
    [InlineData(-1, "list 'ranges' claims 2 entries of 16 bytes but only 31 bytes remain")]
    [InlineData(1, "1 unexpected bytes after the last field")]
    public async Task The_ksy_refuses_a_guard_regions_payload_of_the_wrong_length(int extra, string csharpError)
    {
        var payload = new PayloadWriter();
        new GuardRegions([new GuardRange(0x1000, 0x2000), new GuardRange(0x3000, 0x4000)]).Encode(payload);
        byte[] body = extra < 0 ? payload.Written[..^1].ToArray() : [.. payload.Written, .. new byte[extra]];
        byte[] bytes = new RawCheckpoint().Begin("PROC")
            .Item(new ProcessInfo(7, 1, 7, 7, ProcessState.Alive, 0, 0, 0x12, 1, 0, 0, 0, 1, "p"u8.ToArray(), [], [], []))
            .Frame("GARD", ItemFlags.Critical, body).End("PROC").Complete();
        var rejected = Assert.Throws<CheckpointFormatException>(() => RawCheckpoint.ReadAll(bytes));
        Assert.Contains(csharpError, rejected.Message, StringComparison.Ordinal);

        var result = await KaitaiCrossCheck.RunScriptAsync(Write("gard-length.cryo", bytes));

        Assert.True(result.ExitCode == 1, $"crosscheck.js accepted a GARD the C# reader refuses ({rejected.Message}): exit {result.ExitCode}");
        Assert.Contains("'GARD'", result.Error, StringComparison.Ordinal);
    }

    private string Write(string name, byte[] bytes)
    {
        string path = Path.Combine(_scratch, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private string WriteKsy(string name, Func<string, string> edit)
    {
        string text = File.ReadAllText(KaitaiCrossCheck.Ksy).ReplaceLineEndings("\n");
        string path = Path.Combine(_scratch, name);
        File.WriteAllText(path, edit(text));
        return path;
    }

    private static string Replace(string text, string from, string to)
    {
        Assert.True(text.Contains(from, StringComparison.Ordinal), $"formats/cryo.ksy no longer contains '{from}': update this test");
        return text.Replace(from, to, StringComparison.Ordinal);
    }

    private static ulong TinfIndex(string file)
    {
        using var reader = CheckpointReader.OpenFile(file);
        while (reader.GetNextItem() is { } item)
            if (item is ThreadInfo) return reader.ItemIndex;
        throw new InvalidOperationException("no TINF item");
    }

    private static uint ChainCrc(string file)
    {
        using var reader = CheckpointReader.OpenFile(file);
        reader.VerifyToEnd();
        return reader.Trailer!.ChainChecksum;
    }
}
