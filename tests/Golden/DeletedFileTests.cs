using System.Text;
using Cryo.Format;
using Cryo.Tests.Golden.Support;
using Xunit;

namespace Cryo.Tests.Golden;

/// <summary>
/// Files deleted while the program holds them (DELF, MDAT) through real checkpoints and restores,
/// with testprogs/deleted --child: a tmpfile-like file with two descriptors sharing an offset, a
/// file in /dev/shm only mapped shared (what Python's multiprocessing does with its semaphores), a
/// privately mapped one with a copy-on-write page, a log open for appending; a child writing
/// through the shared one. The program checks contents, offsets, flags, links and mappings; the
/// tests check the image and that a restore leaves no file behind, the files being deleted again.
/// </summary>
public class DeletedFileTests
{
    [Fact]
    public void Deleted_files_come_back_deleted_with_their_contents()
    {
        using var dir = new TestDirectory("deleted");
        var (image, pid) = Checkpoints.Kill(dir, "deleted", "--child");
        var files = ImageItems.Of<DeletedFile>(image).ToDictionary(f => Encoding.UTF8.GetString(f.Path));
        string t = Path.Combine(Path.GetFullPath(dir.Path), $"deleted-t.{pid}"), s = $"/dev/shm/cryo-deleted-s.{pid}";
        Assert.Equal((10000UL, 0x8180u), (files[t].Size, files[t].Mode));
        Assert.Equal(8192UL, files[s].Size);
        Assert.Equal(4, files.Count);
        // Each file once, with its data: T's 10000 bytes are three pages (the last one partly).
        Assert.Equal(12288, ImageItems.Of<MemfdData>(image).Where(d => d.ObjectId == files[t].ObjectId).Sum(d => d.Data.Length));
        Assert.Contains(ImageItems.Of<FileDescriptor>(image), f => f.Fd == 30 && Encoding.UTF8.GetString(f.Path) == $"{t} (deleted)");

        Assert.Equal("PASS", Restored.RunToVerdict(image, dir));
        Assert.Empty(Directory.GetFiles(dir.Path, "deleted-*"));
        Assert.Empty(Directory.GetFiles("/dev/shm", $"cryo-deleted-s.{pid}*"));
    }

    /// <summary>A deleted file over the default limit (64 MiB) is saved when --deleted-file-limit allows it, and comes back whole.</summary>
    [Fact]
    public void A_larger_limit_saves_a_large_deleted_file()
    {
        using var dir = new TestDirectory("deleted-big");
        string image = dir.File("image.cryo");
        using (var program = RunningProgram.Start("unsupported", dir, "--kind=deleted-big"))
        {
            CryoTool.Must(dir, "checkpoint", program.Pid.ToString(), "-o", image, "--deleted-file-limit", "100");
            program.WaitForExit("checkpointed");
        }
        Assert.Equal(80UL << 20, Assert.Single(ImageItems.Of<DeletedFile>(image)).Size);
        Assert.Equal("PASS", Restored.RunToVerdict(image, dir));
    }

    [Fact]
    public void Leave_running_copies_the_files_while_frozen_and_both_pass() =>
        Assert.Equal(("PASS", "PASS"), Checkpoints.LeaveRunningThenRestore("deleted-leave", "deleted", "--child"));

    /// <summary>
    /// testprogs/upgraded runs from a copy of itself that it deleted, as a program does after a
    /// package upgrade replaced its file. Refused until an exploratory program asked for it: the
    /// executable is saved as the deleted file its code maps, and made the exe link again (cryo
    /// closes its writable descriptor of the file first: the kernel takes no file open for writing).
    /// The restored program reads itself through /proc/self/exe and runs itself again.
    /// </summary>
    [Fact]
    public void A_program_whose_executable_was_deleted_comes_back_and_runs_itself()
    {
        using var dir = new TestDirectory("upgraded");
        string image = Checkpoints.Kill(dir, "upgraded").Image;
        var info = ImageItems.Of<ProcessInfo>(image).Single();
        Assert.EndsWith(".exe (deleted)", Encoding.UTF8.GetString(info.ExePath));
        Assert.Contains(ImageItems.Of<DeletedFile>(image), f => Encoding.UTF8.GetString(info.ExePath).StartsWith(Encoding.UTF8.GetString(f.Path), StringComparison.Ordinal));
        Assert.Equal("PASS", Restored.RunToVerdict(image, dir));
    }

    [Fact]
    public void A_deleted_executable_left_running_the_original_and_the_copy_pass() =>
        Assert.Equal(("PASS", "PASS"), Checkpoints.LeaveRunningThenRestore("upgraded-leave", "upgraded"));
}
