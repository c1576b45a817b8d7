using System.Globalization;
using Cryo.Format;
using Cryo.Interop;
using Cryo.Proc;
using Cryo.Tests.Golden.Support;
using Xunit;

namespace Cryo.Tests.Golden;

/// <summary>
/// System V shared memory (SHMS, AREA kind 10) through real checkpoints and restores, with
/// testprogs/sysvshm --child: a keyed segment attached twice (one attachment split by mprotect),
/// a removed one shared with a child, a read-only attachment. The program checks contents,
/// sharing, IPC_STAT and shmdt; the tests check the image, a restore that finds the segments
/// still there, one that must make them again, and one that cannot have an id back.
/// </summary>
public class SysVShmTests
{
    private const uint Permissions0640 = 0x1a0, Permissions0600 = 0x180;

    [Fact]
    public void Segments_come_back_attached_by_their_ids()
    {
        using var dir = new TestDirectory("sysvshm");
        var (image, pid) = Checkpoints.Kill(dir, "sysvshm", "--child");
        var segments = ImageItems.Of<SysVSegment>(image).DistinctBy(s => s.Id).ToList();
        try
        {
            // Per process: A2 split in three areas by its read-only middle page, A1, B and C: six areas;
            // the child inherited all of them. A, B and C were made in that order: ascending ids.
            Assert.Equal(3, segments.Count);
            var (a, b, c) = (segments[0], segments[1], segments[2]);
            Assert.Equal(0x53560000 | (pid & 0xffff), a.Key);
            Assert.Equal((12388UL, Permissions0640), (a.Size, a.Mode));
            Assert.Equal((0, 65536UL, Permissions0600 | SysVSegment.Destroyed), (b.Key, b.Size, b.Mode));
            Assert.Equal((0, 8192UL, Permissions0600), (c.Key, c.Size, c.Mode));
            var attached = ImageItems.Of<MemoryArea>(image).Where(m => m.Kind == MemoryAreaKind.SysVShared).ToList();
            Assert.Equal(12, attached.Count);
            Assert.Equal([a.Id, b.Id, c.Id], attached.Select(m => (int)m.Inode).Distinct().Order());

            Assert.Equal("PASS", Restored.RunToVerdict(image, dir));
        }
        finally
        {
            RemoveLeftovers(segments);
        }
    }

    /// <summary>The segments were removed after the checkpoint: the restore makes them again, with their ids and the image's pages.</summary>
    [Fact]
    public void Segments_gone_since_the_checkpoint_are_made_again_with_their_ids()
    {
        using var dir = new TestDirectory("sysvshm-gone");
        var (image, _) = Checkpoints.Kill(dir, "sysvshm", "--child");
        var segments = ImageItems.Of<SysVSegment>(image).DistinctBy(s => s.Id).ToList();
        try
        {
            RemoveLeftovers(segments);
            Assert.Empty(Live(segments));
            Assert.Equal("PASS", Restored.RunToVerdict(image, dir));
        }
        finally
        {
            RemoveLeftovers(segments);
        }
    }

    /// <summary>
    /// C is gone and another segment holds its id: the restore fails, after it made B again (gone
    /// with the kill, as it was removed), and leaves no process and no segment of its own behind.
    /// </summary>
    [Fact]
    public void A_restore_that_cannot_have_an_id_back_fails_and_leaves_nothing()
    {
        using var dir = new TestDirectory("sysvshm-taken");
        var (image, pid) = Checkpoints.Kill(dir, "sysvshm", "--child");
        var segments = ImageItems.Of<SysVSegment>(image).DistinctBy(s => s.Id).ToList();
        int intruder = -1;
        try
        {
            var c = segments[2];
            Native.ShmRemove(c.Id, "the test's C");
            File.WriteAllText(Native.ShmNextIdPath, c.Id.ToString(CultureInfo.InvariantCulture));
            intruder = Native.Shmget(0, 4096, Native.IPC_CREAT | 0x180);
            Assert.Equal(c.Id, intruder);

            var result = CryoTool.Run("restore", image);
            Assert.True(result.ExitCode != 0, $"the restore succeeded: {result.StandardError}");
            Assert.Contains($"System V shared memory segment {c.Id}", result.StandardError);
            Assert.Contains("now names another segment", result.StandardError);
            Assert.False(Directory.Exists($"/proc/{pid}"), $"pid {pid} was left behind");
            var live = Live(segments).Select(r => r.Id).ToList();
            Assert.DoesNotContain(segments[1].Id, live); // B, made by the failed restore, is removed again
            Assert.Contains(segments[0].Id, live);       // A was there all along
            Assert.Contains(intruder, live);
        }
        finally
        {
            if (intruder >= 0) Native.ShmRemove(intruder, "the test's intruder");
            RemoveLeftovers(segments.Where(s => s.Id != intruder));
        }
    }

    [Fact]
    public void Leave_running_leaves_the_segments_of_the_original_and_the_copy_passes() =>
        Assert.Equal(("PASS", "PASS"), Checkpoints.LeaveRunningThenRestore("sysvshm-leave", "sysvshm", "--child"));

    [Fact]
    public void A_partly_unmapped_attachment_is_refused_and_the_target_runs_on()
    {
        using var dir = new TestDirectory("sysvshm-partial");
        using var program = RunningProgram.Start("sysvshm", dir, "--partial");
        string image = dir.File("image.cryo");
        var result = CryoTool.Run("checkpoint", program.Pid.ToString(CultureInfo.InvariantCulture), "-o", image);
        Assert.True(result.ExitCode == 1, $"cryo exited {result.ExitCode}: {result.StandardError}");
        Assert.Contains($"pid {program.Pid}", result.StandardError);
        Assert.Contains("/SYSV", result.StandardError);
        Assert.Contains("its start was unmapped", result.StandardError);
        Assert.False(File.Exists(image), "a refused checkpoint left a file");
        Assert.Equal("PASS", program.Terminate());
    }

    private static IEnumerable<SysVShmRow> Live(IEnumerable<SysVSegment> segments)
    {
        var ids = segments.Select(s => s.Id).ToHashSet();
        return SysVShmTable.Read().Where(r => ids.Contains(r.Id));
    }

    /// <summary>Removes what a failed test program or restore left of the image's segments (a passing program removes its own).</summary>
    private static void RemoveLeftovers(IEnumerable<SysVSegment> segments)
    {
        foreach (var row in Live(segments).ToList())
        {
            try { Native.ShmRemove(row.Id, "a test's leftover"); }
            catch (SysCallException) { } // gone meanwhile
        }
    }
}
