using System.Buffers.Binary;
using System.Globalization;
using System.Text.RegularExpressions;
using Cryo.Format;
using Cryo.Proc;
using Cryo.Tests.Golden.Support;
using Xunit;

namespace Cryo.Tests.Golden;

/// <summary>
/// --leave-running lets the target run on once a copy-on-write fork of it exists, and writes the
/// image from that copy (docs/engine-memory.md). The image must still be the memory of one
/// instant: `mutator` rewrites two areas without pause, and a copy read while it runs would be
/// torn. The copy must leave no trace in the target, and what it cannot give (shared memory,
/// MADV_WIPEONFORK and MADV_DONTFORK areas) must still be in the image.
/// </summary>
public partial class SnapshotTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Leave_running_stores_one_instant_of_memory_that_changes_all_the_time(bool snapshot)
    {
        using var dir = new TestDirectory(snapshot ? "snapshot" : "no-snapshot");
        string image = dir.File("image.cryo");
        using (var program = RunningProgram.Start("mutator", dir))
        {
            string[] args = ["checkpoint", program.Pid.ToString(CultureInfo.InvariantCulture), "-o", image, "--leave-running", "--verbose"];
            var result = CryoTool.Must(dir, snapshot ? args : [.. args, "--no-snapshot"]);
            if (snapshot) Assert.Matches($@"snapshot of pid {program.Pid} is pid \d+: forked in", result.StandardError);
            else Assert.DoesNotContain("snapshot of pid", result.StandardError);
            Assert.Matches(snapshot ? @"left running; freeze [0-9.]+ ms, plan [0-9.]+ ms, snapshot [0-9.]+ ms, write" : @"left running; (reserve [0-9.]+ ms, )?freeze", result.StandardError);
            Assert.True(program.Children() == "", $"pid {program.Pid} has children after the checkpoint: {program.Children()}. cryo said: {result.StandardError}");
            AssertSweptAreasAreOneInstant(image, dir.LogFile);
            Assert.Equal("PASS", program.Terminate());
        }
        Assert.Equal("PASS", Restored.RunToVerdict(image, dir));
    }

    /// <summary>Above 64 MiB of memory that a fork copy cannot give, the whole image is copied while frozen.</summary>
    [Fact]
    public void Much_shared_memory_is_copied_while_frozen_instead()
    {
        using var dir = new TestDirectory("snapshot-shared");
        string image = dir.File("image.cryo");
        using (var program = RunningProgram.Start("mutator", dir, "--shared-pages=20000"))
        {
            var result = CryoTool.Must(dir, "checkpoint", program.Pid.ToString(CultureInfo.InvariantCulture), "-o", image, "--leave-running", "--verbose");
            Assert.Contains($"no snapshot of pid {program.Pid}: 78 MiB of its memory is shared", result.StandardError);
            Assert.Contains("the image is written while the tree stays frozen", result.StandardError);
            Assert.True(program.Children() == "", $"pid {program.Pid} has children after the checkpoint: {program.Children()}");
            AssertSweptAreasAreOneInstant(image, dir.LogFile);
            Assert.Equal("PASS", program.Terminate());
        }
        Assert.Equal("PASS", Restored.RunToVerdict(image, dir));
    }

    /// <summary>Trees, threads, zombies and shared memory through a snapshot checkpoint: the original and the restored copy pass.</summary>
    [Theory]
    [InlineData("threads")]
    [InlineData("sleep")]
    [InlineData("zombie")]
    public void Leave_running_with_snapshots_keeps_original_and_copy_passing(string name)
    {
        using var dir = new TestDirectory($"snapshot-{name}");
        string image = dir.File("image.cryo");
        using (var program = RunningProgram.Start(name, dir))
        {
            var result = CryoTool.Must(dir, "checkpoint", program.Pid.ToString(CultureInfo.InvariantCulture), "-o", image, "--leave-running", "--verbose");
            Assert.Matches($@"snapshot of pid {program.Pid} is pid \d+", result.StandardError);
            Assert.Equal("PASS", program.Terminate());
        }
        Assert.Equal("PASS", Restored.RunToVerdict(image, dir));
    }

    /// <summary>
    /// cryo killed (SIGKILL, which it cannot catch) while it writes from a snapshot: the kernel
    /// kills the snapshot with it (PTRACE_O_EXITKILL, inherited from the clone), so no second
    /// copy of the program ever runs, and the original runs on and passes. cryo is held in the
    /// write by a stdout pipe nobody reads.
    /// </summary>
    [Fact]
    public void Cryo_killed_while_writing_from_a_snapshot_takes_the_snapshot_with_it()
    {
        using var dir = new TestDirectory("snapshot-sigkill");
        using var program = RunningProgram.Start("mutator", dir, "--private-pages=20000");
        var start = new System.Diagnostics.ProcessStartInfo(CryoTool.Executable("cryo"))
        {
            RedirectStandardOutput = true, RedirectStandardError = true,
            ArgumentList = { "checkpoint", program.Pid.ToString(CultureInfo.InvariantCulture), "-o", "-", "--leave-running", "--verbose" },
        };
        using var cryo = System.Diagnostics.Process.Start(start)!;
        var said = new System.Text.StringBuilder();
        int snapshot = 0;
        try
        {
            // The snapshot exists and the program was let go once cryo says so; the 64 KiB pipe then holds cryo in its write.
            while (cryo.StandardError.ReadLine() is { } line)
            {
                said.AppendLine(line);
                if (SnapshotLine().Match(line) is { Success: true } m)
                {
                    snapshot = int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
                    break;
                }
            }
            Assert.True(snapshot != 0, $"cryo said no snapshot: {said}");
            Wait.Until(() => ProcStat.Read(program.Pid).State != 't', RunningProgram.Timeout,
                "the program to be let go", program.Describe);
        }
        finally
        {
            cryo.Kill();
            cryo.WaitForExit();
        }
        // The snapshot stays a zombie of the program (exit signal 0: nobody reaps it until the
        // program ends), so how it died can be read: by SIGKILL from the kernel, not by running
        // on (or crashing) as a second copy of the program.
        Wait.Until(() => ProcStat.Read(snapshot).State == 'Z', RunningProgram.Timeout,
            $"the snapshot {snapshot} to die with cryo", program.Describe);
        int exitCode = ProcStat.Read(snapshot).ExitCode;
        Assert.True(exitCode == 9, $"the snapshot {snapshot} ended with wait status {exitCode}, not by SIGKILL (9)");
        Assert.False(program.HasExited(), $"the original died. cryo said: {said}\n{program.Describe()}");
        Assert.Equal("PASS", program.Terminate());
    }

    [GeneratedRegex(@"snapshot of pid \d+ is pid (\d+)")]
    private static partial Regex SnapshotLine();

    [Fact]
    public void No_snapshot_without_leave_running_is_a_usage_error()
    {
        var result = CryoTool.Run("checkpoint", "1", "-o", "/tmp/never.cryo", "--no-snapshot");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--no-snapshot only applies with --leave-running", result.StandardError);
    }

    [GeneratedRegex(@"private area (0x[0-9a-f]+), (\d+) pages; shared area (0x[0-9a-f]+), (\d+) pages")]
    private static partial Regex AreasLine();

    /// <summary>
    /// Reads the swept areas' pages from the image: each must hold sweep g + 1 up to some page
    /// and g after it. A copy taken while the sweeps went on holds newer sweeps further on.
    /// </summary>
    private static void AssertSweptAreasAreOneInstant(string image, string programLog)
    {
        var match = AreasLine().Match(File.ReadAllText(programLog));
        Assert.True(match.Success, $"mutator did not log its areas: {File.ReadAllText(programLog)}");
        var areas = new[] { (Name: "private", At: 1), (Name: "shared", At: 3) }.Select(a => (a.Name,
            Start: ulong.Parse(match.Groups[a.At].Value[2..], NumberStyles.HexNumber, CultureInfo.InvariantCulture),
            Pages: int.Parse(match.Groups[a.At + 1].Value, CultureInfo.InvariantCulture))).ToList();
        var sweeps = areas.ToDictionary(a => a.Name, a => new ulong?[a.Pages]);

        using var reader = CheckpointReader.OpenFile(image);
        int pageSize = checked((int)reader.Header.PageSize);
        while (reader.GetNextItem() is { } item)
        {
            if (item is not PageData pages) continue;
            for (int offset = 0; offset < pages.Data.Length; offset += pageSize)
            {
                ulong address = pages.Address + (ulong)offset;
                foreach (var area in areas)
                {
                    if (address < area.Start || address >= area.Start + (ulong)(area.Pages * pageSize)) continue;
                    sweeps[area.Name][(int)((address - area.Start) / (ulong)pageSize)] = BinaryPrimitives.ReadUInt64LittleEndian(pages.Data.Span[offset..]);
                }
            }
        }
        foreach (var (name, values) in sweeps)
        {
            Assert.True(values.All(v => v is not null), $"the image lacks pages of the {name} area");
            for (int i = 1; i < values.Length; i++)
                Assert.True(values[i] <= values[i - 1], $"{name} area in the image: page {i} holds sweep {values[i]} after page {i - 1} with {values[i - 1]} (a torn copy)");
            Assert.True(values[0] - values[^1] <= 1, $"{name} area in the image: sweeps {values[^1]}..{values[0]}");
        }
    }
}
