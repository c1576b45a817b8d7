using System.Globalization;
using System.Text;
using Cryo.Format;
using Cryo.Interop;
using Cryo.Tests.Golden.Support;
using Xunit;

namespace Cryo.Tests.Golden;

/// <summary>
/// inotify instances (INOT) through real checkpoints and restores: testprogs/watcher (two
/// instances, a gap in the watch descriptors, a one-shot watch, a watch of a symlink itself, one
/// with IN_EXCL_UNLINK; the program makes events after the restore and checks every one, and
/// that none is spurious), and an unmodified `tail -f` that follows a file across a restore.
/// </summary>
public class InotifyTests
{
    [Fact]
    public void Watches_come_back_with_their_watch_descriptors_and_no_spurious_events()
    {
        using var dir = new TestDirectory("inotify");
        var (image, pid) = Checkpoints.Kill(dir, "watcher");
        var instances = ImageItems.Of<InotifyFile>(image);
        Assert.Equal([30, 31], instances.Select(i => i.Fd));
        // wd 2 was removed before the checkpoint: the gap stays.
        Assert.Equal([(1, 0x380u), (3, 0x8000_0002u), (4, 0x4u), (5, 0x0400_0008u)], instances[0].Watches.Select(w => (w.Wd, w.Mask)));
        string watched = Path.Combine(dir.Path, $"watched.{pid}");
        Assert.Equal([watched, $"{watched}/f2", $"{watched}/link", $"{watched}/f1"], instances[0].Watches.Select(w => Encoding.UTF8.GetString(w.Path)));
        Assert.Equal([(1, 0x4u)], instances[1].Watches.Select(w => (w.Wd, w.Mask)));
        Assert.Equal("PASS", Restored.RunToVerdict(image, dir));
    }

    [Fact]
    public void A_child_sharing_the_instances_shares_them_after_the_restore() =>
        Assert.Equal("PASS", CheckpointRestoreTests.Cycles("inotify-child", 1, "watcher", "--child"));

    /// <summary>
    /// Left running, the original's instances are as they were (the checkpoint reads their queues
    /// and file handles without taking anything). Its check then removes the watched directory:
    /// a restore after that fails, naming the path, and leaves no process behind.
    /// </summary>
    [Fact]
    public void Left_running_the_original_passes_and_a_restore_without_the_watched_files_fails_cleanly()
    {
        using var dir = new TestDirectory("inotify-leave");
        string image = dir.File("image.cryo");
        int pid;
        using (var program = RunningProgram.Start("watcher", dir, "--child"))
        {
            pid = program.Pid;
            CryoTool.Must(dir, "checkpoint", pid.ToString(CultureInfo.InvariantCulture), "-o", image, "--leave-running");
            Assert.Equal("PASS", program.Terminate());
        }
        var result = CryoTool.Run("restore", image);
        Assert.Equal(1, result.ExitCode);
        Assert.Contains($"pid {pid} fd 30 (anon_inode:inotify): the watched {dir.Path}/watched.{pid} is gone (ENOENT)", result.StandardError);
        Assert.False(Directory.Exists($"/proc/{pid}"), $"pid {pid} exists after the failed restore");
    }

    /// <summary>A restored instance (its gap filled by cryo's dummy watches) checkpointed again.</summary>
    [Fact]
    public void Three_cycles_in_a_row_pass() =>
        Assert.Equal("PASS", CheckpointRestoreTests.Cycles("inotify-cycles", 3, "watcher"));

    /// <summary>
    /// On overlayfs (a container's root) the file handles fdinfo shows do not open again
    /// (ESTALE without nfs_export): the watched inodes are then found near the process (its log
    /// is in the directory above the watched one), and the restore passes. Not near anything the
    /// process has open, a watch there would be refused.
    /// </summary>
    [Fact]
    public void Watches_on_overlayfs_are_found_near_the_process()
    {
        using var dir = new TestDirectory("inotify-overlay");
        using var overlay = new OverlayMount(dir.File("overlay"));
        string pidFile = Path.Combine(overlay.Path, "pid"), outFile = Path.Combine(overlay.Path, "out"), image = dir.File("image.cryo");
        int pid;
        // Its output goes to a log beside the outfile, as a program's own log would be: the watched directory is next to it.
        using (var watcher = Spawned.StartLoggingTo(dir, "watcher", Path.Combine(overlay.Path, "log"), TestPrograms.Path("watcher"), $"--pidfile={pidFile}", $"--outfile={outFile}"))
        {
            Wait.Until(() => File.Exists(pidFile) || watcher.HasExited(), RunningProgram.Timeout, "the watcher's pidfile", watcher.Describe);
            pid = watcher.Pid;
            CryoTool.Must(dir, "checkpoint", pid.ToString(CultureInfo.InvariantCulture), "-o", image);
            watcher.WaitForExit("cryo checkpoint kills it by default");
        }
        Assert.Equal([1, 3, 4, 5], ImageItems.Of<InotifyFile>(image)[0].Watches.Select(w => w.Wd));
        using (var restored = Restored.Start(image, dir))
        {
            Native.Kill(pid, Signals.SIGTERM);
            restored.WaitForCryo("after SIGTERM", expectSuccess: true);
        }
        Assert.Equal("PASS", File.ReadAllText(outFile).Trim());
    }

    /// <summary>GNU tail waits for inotify events of the file it follows: a line appended after the restore still shows.</summary>
    [Fact]
    public void Tail_f_follows_its_file_across_a_restore()
    {
        using var dir = new TestDirectory("inotify-tail");
        string followed = dir.File("followed.log"), image = dir.File("image.cryo");
        File.WriteAllText(followed, "one\n");
        int pid;
        using (var tail = Spawned.Start(dir, "tail", "/usr/bin/tail", "-f", "-n", "+1", followed))
        {
            pid = tail.Pid;
            Wait.Until(() => tail.Output.Contains("one\n"), RunningProgram.Timeout, "tail's first line", tail.Describe);
            File.AppendAllText(followed, "two\n");
            // Shown: tail has read the event, and its queue is empty again.
            Wait.Until(() => tail.Output.Contains("two\n"), RunningProgram.Timeout, "tail's second line", tail.Describe);
            CryoTool.Must(dir, "checkpoint", pid.ToString(CultureInfo.InvariantCulture), "-o", image);
            tail.WaitForExit("cryo checkpoint kills it by default");
        }
        var watch = Assert.Single(ImageItems.Of<InotifyFile>(image)).Watches.Single(w => Encoding.UTF8.GetString(w.Path) == followed);

        using var restored = Restored.Start(image, dir);
        Assert.Equal(pid, restored.Pid);
        File.AppendAllText(followed, "three\n");
        Wait.Until(() => File.ReadAllText(dir.File("tail.log")).Contains("three\n"), RunningProgram.Timeout,
            $"the restored tail to show the line appended after the restore (watch {watch.Wd}, mask 0x{watch.Mask:x})", () => dir.Describe("restored tail"));
        Native.Kill(pid, Signals.SIGTERM);
        Assert.Equal(128 + Signals.SIGTERM, restored.WaitForCryo("after SIGTERM", expectSuccess: false).ExitCode);
    }
}
