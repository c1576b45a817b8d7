using System.Globalization;
using System.Text;
using Cryo.Format;
using Cryo.Interop;
using Cryo.Tests.Golden.Support;
using Xunit;

namespace Cryo.Tests.Golden;

/// <summary>
/// Named connected Unix sockets (USCK with USNM) through real checkpoints and restores: an
/// unmodified Python multiprocessing manager (its server process accepts the client's
/// connections on a socket in /tmp/pymp-*), killed or left running, and testprogs/unixconn
/// (accepted connections on a path, an abstract and a relative name, a client bound to names of
/// its own, a closed peer, a connection shared with a child), whose own checks compare every
/// name byte for byte and every queued byte.
/// </summary>
public class UnixConnectionTests
{
    [Fact]
    public void A_python_multiprocessing_manager_serves_its_proxies_after_a_restore()
    {
        using var dir = new TestDirectory("python-manager");
        string image = dir.File("image.cryo");
        using (var python = StartManager(dir))
        {
            CryoTool.Must(dir, "checkpoint", python.Pid.ToString(CultureInfo.InvariantCulture), "-o", image);
            python.WaitForExit("cryo checkpoint kills it by default");
        }
        AssertNamedAfterListener(image);
        Assert.Equal("PASS", Restored.RunToVerdict(image, dir));
    }

    /// <summary>
    /// Left running, then the original tree killed outright (a graceful end would remove the
    /// manager's directory with its socket file, and with it the name to listen on): the restored
    /// copy makes its listener and its named connections again where the dead original's were.
    /// </summary>
    [Fact]
    public void A_python_manager_left_running_is_restored_once_the_original_is_killed()
    {
        using var dir = new TestDirectory("python-manager-leave");
        string image = dir.File("image.cryo");
        using (var python = StartManager(dir))
        {
            CryoTool.Must(dir, "checkpoint", python.Pid.ToString(CultureInfo.InvariantCulture), "-o", image, "--leave-running");
            Assert.False(python.HasExited(), $"the original died. {python.Describe()}");
            foreach (var process in ImageItems.Of<ProcessInfo>(image)) Native.Kill(process.Pid, Signals.SIGKILL);
            python.WaitForExit("SIGKILL");
            foreach (var process in ImageItems.Of<ProcessInfo>(image))
                Wait.Until(() => !Directory.Exists($"/proc/{process.Pid}"), RunningProgram.Timeout, $"the manager's pid {process.Pid} to be reaped", python.Describe);
        }
        AssertNamedAfterListener(image);
        Assert.Equal("PASS", Restored.RunToVerdict(image, dir));
    }

    /// <summary>
    /// Left running, then the original ended on its own, which removes the manager's directory:
    /// the restore cannot listen there, says so, and leaves no process behind.
    /// </summary>
    [Fact]
    public void A_restore_whose_listener_directory_is_gone_fails_cleanly()
    {
        using var dir = new TestDirectory("python-manager-gone");
        string image = dir.File("image.cryo");
        using (var python = StartManager(dir))
        {
            CryoTool.Must(dir, "checkpoint", python.Pid.ToString(CultureInfo.InvariantCulture), "-o", image, "--leave-running");
            Native.Kill(python.Pid, Signals.SIGTERM);
            Assert.Equal(0, python.WaitForExit("SIGTERM: it checks, shuts its manager down and ends"));
        }
        string listener = Encoding.UTF8.GetString(Assert.Single(ImageItems.Of<UnixListener>(image)).Name);
        var pids = ImageItems.Of<ProcessInfo>(image).Select(p => p.Pid).ToList();
        foreach (int pid in pids)
            Wait.Until(() => !Directory.Exists($"/proc/{pid}"), RunningProgram.Timeout, $"the manager's pid {pid} to be reaped", () => dir.Describe("manager"));
        Assert.False(Directory.Exists(Path.GetDirectoryName(listener)), $"{listener}'s directory is still there");
        var result = CryoTool.Run("restore", image);
        Assert.Equal(1, result.ExitCode);
        Assert.Contains($"cannot listen on {listener} again: its directory {Path.GetDirectoryName(listener)} is gone", result.StandardError);
        Assert.All(pids, pid => Assert.False(Directory.Exists($"/proc/{pid}"), $"pid {pid} of the failed restore is left"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Named_connections_come_back_with_their_names_and_queues(bool child)
    {
        using var dir = new TestDirectory("unixconn");
        string[] args = child ? ["--child"] : [];
        var (image, pid) = Checkpoints.Kill(dir, "unixconn", args);
        var names = ImageItems.Of<UnixSocketName>(image).Select(n => UnixNameText(n.Name)).ToList();
        string srv = $"{dir.Path}/srv.{pid}";
        // Accepted by L: C1, C2, C5, C6 (and the child's); C3 both ends; C4 the relative name; C5's client.
        Assert.Equal(child ? 5 : 4, names.Count(n => n == srv));
        Assert.Contains($"@cryo-unixconn-{pid}", names);
        Assert.Contains($"@cryo-unixconn-client-{pid}", names);
        Assert.Contains($"rel.{pid}", names);
        Assert.Contains($"{dir.Path}/cli.{pid}", names);
        Assert.Equal("PASS", Restored.RunToVerdict(image, dir));
    }

    [Fact]
    public void Named_connections_left_running_pass_in_the_original_and_the_copy()
    {
        var (original, copy) = Checkpoints.LeaveRunningThenRestore("unixconn-leave", "unixconn", "--child");
        Assert.Equal(("PASS", "PASS"), (original, copy));
    }

    [Fact]
    public void Three_cycles_in_a_row_pass() =>
        Assert.Equal("PASS", CheckpointRestoreTests.Cycles("unixconn-cycles", 3, "unixconn", "--child"));

    private static string UnixNameText(byte[] name) =>
        name[0] == 0 ? "@" + Encoding.UTF8.GetString(name.AsSpan(1)) : Encoding.UTF8.GetString(name);

    private static Spawned StartManager(TestDirectory dir)
    {
        var python = Spawned.Start(dir, "manager", "/usr/bin/python3", TestPrograms.Script("manager.py"), dir.PidFile, dir.OutFile);
        try
        {
            Wait.Until(() => File.Exists(dir.PidFile) || python.HasExited(), RunningProgram.Timeout, "manager.py's pidfile", python.Describe);
            Assert.False(python.HasExited(), $"manager.py ended before it was ready. {python.Describe()}");
            return python;
        }
        catch
        {
            python.Dispose();
            throw;
        }
    }

    /// <summary>The manager's listener is in /tmp/pymp-*, and each named connection end in the image (the server's accepted ones) carries its name.</summary>
    private static void AssertNamedAfterListener(string image)
    {
        var listener = Assert.Single(ImageItems.Of<UnixListener>(image));
        Assert.StartsWith("/tmp/pymp-", Encoding.UTF8.GetString(listener.Name));
        var names = ImageItems.Of<UnixSocketName>(image);
        Assert.NotEmpty(names);
        Assert.All(names, name => Assert.Equal(listener.Name, name.Name));
    }
}
