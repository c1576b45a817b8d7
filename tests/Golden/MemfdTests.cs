using System.Text;
using Cryo.Format;
using Cryo.Tests.Golden.Support;
using Xunit;

namespace Cryo.Tests.Golden;

/// <summary>
/// memfd objects (MEMF, MDAT, FDES kind 9, AREA kind 11) through real checkpoints and restores,
/// with testprogs/memfd: a sparse sealed object mapped twice back to back (a ring) and privately,
/// with two descriptors sharing an offset; one reached through a read-write and a read-only
/// description; a write-sealed one mapped read-only; one sealed F_SEAL_FUTURE_WRITE after a
/// writable mapping; with --child, a child answering through the ring. And the .NET program,
/// whose runtime keeps a memfd for its code and needs its membarrier registration.
/// </summary>
public class MemfdTests
{
    private const uint SealSeal = 1, SealShrink = 2, SealGrow = 4, SealWrite = 8, SealFutureWrite = 0x10;

    [Fact]
    public void Memfd_objects_come_back_shared_by_their_descriptors_and_mappings()
    {
        using var dir = new TestDirectory("memfd");
        var (image, _) = Checkpoints.Kill(dir, "memfd", "--child");
        var objects = ImageItems.Of<MemfdObject>(image);
        // Each object once, in the parent's PROC: the child refers to A by device and inode only.
        Assert.Equal(["cryo-a", "cryo b", "cryo-c", "cryo-d"], objects.Select(o => Encoding.UTF8.GetString(o.Name)));
        var (a, b, c, d) = (objects[0], objects[1], objects[2], objects[3]);
        Assert.Equal((1048676UL, SealShrink | SealGrow), (a.Size, a.Seals));
        Assert.Equal((12288UL, SealSeal, 0x81a0u), (b.Size, b.Seals, b.Mode));
        Assert.Equal(SealWrite | SealSeal, c.Seals);
        Assert.Equal(SealFutureWrite, d.Seals);
        // A is sparse: pages 0-2 and its last, partial page hold data, nothing in between is stored.
        var aData = ImageItems.Of<MemfdData>(image).Where(m => m.ObjectId == a.ObjectId).ToList();
        Assert.Equal([(0UL, 12288), (1048576UL, 4096)], aData.Select(m => (m.Offset, m.Data.Length)));

        var descriptors = ImageItems.Of<FileDescriptor>(image).Where(f => f.Kind == FileKind.Memfd).ToList();
        // fds 30, 31 (A), 32, 33 (B) and 34 (C) in the parent and, inherited through fork, in the child.
        Assert.Equal([30, 31, 32, 33, 34, 30, 31, 32, 33, 34], descriptors.Select(f => f.Fd));
        Assert.Equal(descriptors[0].DescriptionId, descriptors[1].DescriptionId); // dup: one description
        Assert.NotEqual(descriptors[2].DescriptionId, descriptors[3].DescriptionId); // B reopened read-only: two
        var areas = ImageItems.Of<MemoryArea>(image).Where(m => m.Kind == MemoryAreaKind.Memfd).ToList();
        Assert.All(areas.Where(m => (m.MapFlags & MemoryArea.MapShared) != 0), m => Assert.Empty(m.Runs));
        Assert.Contains(areas, m => m.Inode == a.ObjectId && (m.MapFlags & MemoryArea.MapPrivate) != 0 && m.Runs.Length == 1);

        Assert.Equal("PASS", Restored.RunToVerdict(image, dir));
    }

    [Fact]
    public void Leave_running_copies_the_objects_while_frozen_and_both_pass() =>
        Assert.Equal(("PASS", "PASS"), Checkpoints.LeaveRunningThenRestore("memfd-leave", "memfd", "--child"));

    /// <summary>A memfd of huge pages lives on hugetlbfs, which cryo does not restore: refused, and the target runs on.</summary>
    [Fact]
    public void A_memfd_of_huge_pages_is_refused_and_the_target_runs_on()
    {
        using var dir = new TestDirectory("memfd-hugetlb");
        using var program = RunningProgram.Start("unsupported", dir, "--kind=memfd-hugetlb");
        string image = dir.File("image.cryo");
        var result = CryoTool.Run("checkpoint", program.Pid.ToString(), "-o", image);
        Assert.True(result.ExitCode == 1, $"cryo exited {result.ExitCode}: {result.StandardError}");
        Assert.Contains($"pid {program.Pid}: fd 3 (memfd /memfd:cryo-huge (deleted))", result.StandardError);
        Assert.Contains("MFD_HUGETLB", result.StandardError);
        Assert.False(File.Exists(image), "a refused checkpoint left a file");
        Assert.Equal("PASS", program.Terminate());
    }

    /// <summary>
    /// A .NET program, killed and restored, then left running and restored: its runtime's memfd
    /// ("doublemapper", mapped executable and writable at many places) comes back as one object,
    /// and its membarrier registration with it (without it the runtime ends with "Failed to flush
    /// using membarrier" at its next GC).
    /// </summary>
    [Fact]
    public void A_dotnet_program_comes_back_with_its_runtime_state()
    {
        using var dir = new TestDirectory("dotnetapp");
        var (image, _) = Checkpoints.Kill(dir, "dotnetapp");
        Assert.Contains(ImageItems.Of<MemfdObject>(image), o => Encoding.UTF8.GetString(o.Name) == "doublemapper");
        var advice = Assert.Single(ImageItems.Of<Format.MemoryAdvice>(image));
        Assert.True(advice.ProcessFlags.HasFlag(ProcessMemoryFlags.MembarrierPrivateExpedited), $"process flags {advice.ProcessFlags}");
        Assert.Equal("PASS", Restored.RunToVerdict(image, dir));
        Assert.Equal(("PASS", "PASS"), Checkpoints.LeaveRunningThenRestore("dotnetapp-leave", "dotnetapp"));
    }
}
